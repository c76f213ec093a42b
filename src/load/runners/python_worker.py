#!/usr/bin/python3
"""llmslo load: Python client worker (stdlib only: http.client + ssl, so TLS goes through the
system libssl.so.3). Reads one JSON job per stdin line, runs jobs on a thread pool with
keep-alive connections per thread, writes one JSON result per stdout line.

Timestamps: time.monotonic_ns() (CLOCK_MONOTONIC, comparable with bpf_ktime_get_ns) and
time.time_ns() for wall clock, taken right after each read1() returns."""
import http.client
import json
import ssl
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

_local = threading.local()
_out_lock = threading.Lock()
_ssl_contexts = {}


def stamp():
    return {"wall_ms": time.time_ns() / 1e6, "mono_ns": time.monotonic_ns()}


def ssl_context(cafile):
    ctx = _ssl_contexts.get(cafile)
    if ctx is None:
        ctx = ssl.create_default_context(cafile=cafile) if cafile else ssl.create_default_context()
        _ssl_contexts[cafile] = ctx
    return ctx


def connection(scheme, host, port, timeout, cafile):
    pool = getattr(_local, "pool", None)
    if pool is None:
        pool = _local.pool = {}
    key = (scheme, host, port, cafile)
    conn = pool.get(key)
    if conn is None:
        if scheme == "https":
            conn = http.client.HTTPSConnection(host, port, timeout=timeout, context=ssl_context(cafile))
        else:
            conn = http.client.HTTPConnection(host, port, timeout=timeout)
        pool[key] = conn
    conn.timeout = timeout
    return conn, key


def drop(key):
    conn = _local.pool.pop(key, None)
    if conn is not None:
        conn.close()


def num(v):
    return v if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def classify(api, data):
    """Mirror of src/load/wire.ts classify(): (content, input, output, error_code, terminal)."""
    if data == "[DONE]":
        return False, None, None, None, True
    try:
        o = json.loads(data)
    except ValueError:
        return False, None, None, None, False
    if not isinstance(o, dict):
        return False, None, None, None, False
    err = o.get("error")
    if err:
        code = err if isinstance(err, str) else str(err.get("code") or err.get("type") or err.get("status") or "error")
        return False, None, None, code, True
    if api == "chat":
        u = o.get("usage") or {}
        content = any((c.get("delta") or {}).get("content") for c in o.get("choices") or [])
        return content, num(u.get("prompt_tokens")), num(u.get("completion_tokens")), None, False
    if api == "responses":
        t = o.get("type")
        if t in ("response.completed", "response.failed", "response.incomplete"):
            u = (o.get("response") or {}).get("usage") or {}
            return False, num(u.get("input_tokens")), num(u.get("output_tokens")), ("response.failed" if t == "response.failed" else None), True
        return t == "response.output_text.delta" and bool(o.get("delta")), None, None, None, False
    if api == "messages":
        t = o.get("type")
        if t == "message_start":
            return False, num(((o.get("message") or {}).get("usage") or {}).get("input_tokens")), None, None, False
        if t == "message_delta":
            u = o.get("usage") or {}
            return False, num(u.get("input_tokens")), num(u.get("output_tokens")), None, False
        if t == "message_stop":
            return False, None, None, None, True
        return t == "content_block_delta", None, None, None, False
    if api == "gemini":
        cands = o.get("candidates") or []
        u = o.get("usageMetadata") or {}
        content = any(p.get("text") for c in cands for p in ((c.get("content") or {}).get("parts") or []))
        return content, num(u.get("promptTokenCount")), num(u.get("candidatesTokenCount")), None, any(c.get("finishReason") for c in cands)
    if api == "ollama":
        m = o.get("message") or {}
        return bool(m.get("content") or o.get("response")), num(o.get("prompt_eval_count")), num(o.get("eval_count")), None, o.get("done") is True
    if api == "rag":
        d = o.get("delta")
        return isinstance(d, str) and len(d) > 0, num(o.get("input_tokens")), num(o.get("output_tokens")), None, o.get("done") is True
    return False, None, None, None, False


def split_events(buf, ndjson):
    """Returns (events, rest); events are data strings (SSE data lines joined)."""
    events = []
    if ndjson:
        *lines, rest = buf.split("\n")
        return [l.strip() for l in lines if l.strip()], rest
    while True:
        idx, sep = -1, 0
        for s in ("\r\n\r\n", "\n\n", "\r\r"):
            i = buf.find(s)
            if i >= 0 and (idx < 0 or i < idx):
                idx, sep = i, len(s)
        if idx < 0:
            return events, buf
        block, buf = buf[:idx], buf[idx + sep:]
        data = []
        for line in block.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
            if line.startswith(":"):
                continue
            field, _, value = line.partition(":")
            if field == "data":
                data.append(value[1:] if value.startswith(" ") else value)
        if data:
            events.append("\n".join(data))


def usage_of(api, body):
    if not isinstance(body, dict):
        return None, None, None
    err = body.get("error")
    if err:
        return None, None, (err if isinstance(err, str) else str(err.get("code") or err.get("type") or err.get("status") or "error"))
    if api in ("chat", "embeddings"):
        u = body.get("usage") or {}
        return num(u.get("prompt_tokens")), (num(u.get("completion_tokens")) if api == "chat" else 0), None
    if api in ("responses", "messages"):
        u = body.get("usage") or {}
        return num(u.get("input_tokens")), num(u.get("output_tokens")), None
    if api == "gemini":
        u = body.get("usageMetadata") or {}
        return num(u.get("promptTokenCount")), num(u.get("candidatesTokenCount")), None
    if api == "ollama":
        return num(body.get("prompt_eval_count")), num(body.get("eval_count")), None
    if api == "rag":
        return num(body.get("input_tokens")), num(body.get("output_tokens")), None
    return None, None, None


def run(job):
    rec = {
        "seq": job["seq"], "request_id": None, "start": stamp(), "headers": None, "first_chunk": None, "first_token": None,
        "end": None, "status": None, "ok": False, "error_type": None, "error_message": None, "error_code": None,
        "input_tokens": None, "output_tokens": None, "chunks": 0, "content_chunks": 0,
    }
    api = job["api"]
    u = urlsplit(job["url"])
    port = u.port or (443 if u.scheme == "https" else 80)
    path = u.path + ("?" + u.query if u.query else "")
    key = None
    try:
        conn, key = connection(u.scheme, u.hostname, port, job["timeout_s"], job.get("cafile"))
        conn.request("POST", path, body=job["body"].encode(), headers=job["headers"])
        resp = conn.getresponse()
        rec["headers"] = stamp()
        rec["status"] = resp.status
        rec["request_id"] = resp.getheader("x-request-id") or resp.getheader("request-id")
        ctype = resp.getheader("content-type") or ""
        streamed = job["stream"] and resp.status == 200 and not ctype.startswith("application/json")
        if not streamed:
            raw = resp.read()
            try:
                body = json.loads(raw)
            except ValueError:
                body = None
            i, o, code = usage_of(api, body)
            rec["input_tokens"], rec["output_tokens"], rec["error_code"] = i, o, code
            if resp.status >= 400:
                rec["error_type"] = "HTTPError"
                rec["error_message"] = raw[:300].decode("utf-8", "replace")
            else:
                rec["ok"] = True
        else:
            buf, terminal = "", False
            ndjson = api == "ollama"
            while True:
                part = resp.read1(65536)
                if not part:
                    break
                s = stamp()
                buf += part.decode("utf-8", "replace")
                events, buf = split_events(buf, ndjson)
                for data in events:
                    content, i, o, code, term = classify(api, data)
                    rec["chunks"] += 1
                    if rec["first_chunk"] is None:
                        rec["first_chunk"] = s
                    if content:
                        rec["content_chunks"] += 1
                        if rec["first_token"] is None:
                            rec["first_token"] = s
                    if i is not None:
                        rec["input_tokens"] = i
                    if o is not None:
                        rec["output_tokens"] = o
                    if code:
                        rec["error_code"] = code
                    terminal = terminal or term
            if rec["error_code"]:
                rec["error_type"] = "StreamError"
            elif not terminal:
                rec["error_type"] = "StreamInterrupted"
            else:
                rec["ok"] = True
        if resp.getheader("connection", "").lower() == "close":
            drop(key)
    except Exception as e:  # noqa: BLE001 - the exception class is the data we record
        rec["error_type"] = type(e).__name__
        rec["error_message"] = str(e)[:300]
        if key is not None:
            drop(key)
    rec["end"] = stamp()
    line = json.dumps(rec)
    with _out_lock:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def main():
    workers = int(sys.argv[1]) if len(sys.argv) > 1 else 16
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for line in sys.stdin:
            line = line.strip()
            if not line:
                continue
            try:
                job = json.loads(line)
            except ValueError as e:
                sys.stderr.write("python worker: bad job line: %s\n" % e)
                continue
            pool.submit(run, job)


if __name__ == "__main__":
    main()
