// curl (libcurl + the system libssl.so.3) as a load client, one process per request.
// curl writes response headers (-D -) and the unbuffered body (-N) to a pipe; this wrapper
// timestamps each pipe read with process.hrtime. Precision: the pipe and event-loop hop add
// roughly 0.05-1 ms after curl's own read; chunks curl receives together may arrive as one read.
import { spawn } from 'node:child_process';
import { stamp } from '../../sim/clock.ts';
import { markChunk, startRecord } from '../record.ts';
import { EventSplitter, buildRequest, classify, isNdjson, usageOf } from '../wire.ts';
import type { ClientRecord, RequestSpec } from '../types.ts';
import type { Runner } from './runner.ts';

/** libcurl exit codes worth naming (curl(1) EXIT CODES). */
const CURL_EXIT: Record<number, string> = {
  6: 'CURLE_COULDNT_RESOLVE_HOST',
  7: 'CURLE_COULDNT_CONNECT',
  18: 'CURLE_PARTIAL_FILE',
  28: 'CURLE_OPERATION_TIMEDOUT',
  35: 'CURLE_SSL_CONNECT_ERROR',
  52: 'CURLE_GOT_NOTHING',
  55: 'CURLE_SEND_ERROR',
  56: 'CURLE_RECV_ERROR',
  60: 'CURLE_PEER_FAILED_VERIFICATION',
  92: 'CURLE_HTTP2_STREAM',
};

export class CurlRunner implements Runner {
  readonly name = 'curl' as const;

  run(spec: RequestSpec): Promise<ClientRecord> {
    const rec = startRecord('curl', spec, 'pipe');
    const wire = buildRequest(spec);
    const args = ['-sS', '-N', '--no-buffer', '-D', '-', '-X', 'POST', '--max-time', String(spec.timeoutS), '-H', 'Expect:', '--data-binary', '@-'];
    for (const [k, v] of Object.entries(wire.headers)) args.push('-H', `${k}: ${v}`);
    if (spec.caFile) args.push('--cacert', spec.caFile);
    args.push(wire.url);
    return new Promise((resolve) => {
      let child;
      try {
        child = spawn('curl', args, { stdio: ['pipe', 'pipe', 'pipe'] });
      } catch (err) {
        rec.error_type = 'SpawnError';
        rec.error_message = String(err);
        rec.end = stamp();
        resolve(rec);
        return;
      }
      let headerBuf = '';
      let inBody = false;
      let bodyText = '';
      let stderr = '';
      let terminal = false;
      const splitter = new EventSplitter(isNdjson(spec.api));
      let streamed = false;
      const onBody = (text: string) => {
        if (!streamed) {
          bodyText += text;
          return;
        }
        for (const ev of splitter.push(text)) {
          const info = classify(spec.api, ev.event, ev.data);
          markChunk(rec, info.content);
          if (info.inputTokens !== undefined) rec.input_tokens = info.inputTokens;
          if (info.outputTokens !== undefined) rec.output_tokens = info.outputTokens;
          if (info.errorCode) rec.error_code = info.errorCode;
          if (info.terminal) terminal = true;
        }
      };
      child.stdout.setEncoding('utf8');
      child.stdout.on('data', (text: string) => {
        if (inBody) return onBody(text);
        headerBuf += text;
        const end = headerBuf.indexOf('\r\n\r\n');
        if (end < 0) return;
        rec.headers = stamp();
        const head = headerBuf.slice(0, end);
        const rest = headerBuf.slice(end + 4);
        inBody = true;
        const lines = head.split('\r\n');
        const status = /^HTTP\/[\d.]+ (\d{3})/.exec(lines[0]);
        rec.status = status ? Number(status[1]) : null;
        let contentType = '';
        for (const line of lines.slice(1)) {
          const c = line.indexOf(':');
          const name = line.slice(0, c).trim().toLowerCase();
          const value = line.slice(c + 1).trim();
          if ((name === 'x-request-id' || name === 'request-id') && !rec.request_id) rec.request_id = value;
          if (name === 'content-type') contentType = value;
        }
        streamed = spec.stream && rec.status === 200 && !contentType.startsWith('application/json');
        if (rest) onBody(rest);
      });
      child.stderr.on('data', (b: Buffer) => {
        if (stderr.length < 2000) stderr += b.toString();
      });
      child.on('error', (err) => {
        rec.error_type = 'SpawnError';
        rec.error_message = err.message;
      });
      child.on('close', (code) => {
        rec.end = stamp();
        if (!streamed && bodyText) {
          let body: unknown = null;
          try {
            body = JSON.parse(bodyText);
          } catch {
            body = null;
          }
          const u = usageOf(spec.api, body);
          rec.input_tokens = u.input ?? null;
          rec.output_tokens = u.output ?? null;
          if (u.errorCode) rec.error_code = u.errorCode;
        }
        if (rec.error_type) {
          // spawn failure, already recorded
        } else if (code !== 0) {
          rec.error_type = CURL_EXIT[code ?? -1] ?? `curl_exit_${code}`;
          rec.error_message = stderr.trim().slice(0, 300);
        } else if (rec.status !== null && rec.status >= 400) {
          rec.error_type = 'HTTPError';
          rec.error_message = bodyText.slice(0, 300);
        } else if (streamed && rec.error_code) {
          rec.error_type = 'StreamError';
        } else if (streamed && !terminal) {
          rec.error_type = 'StreamInterrupted';
        } else rec.ok = true;
        resolve(rec);
      });
      child.stdin.on('error', () => undefined);
      child.stdin.end(wire.body);
    });
  }

  async close(): Promise<void> {}
}
