// The simulated LLM provider: OpenAI, Anthropic, Gemini and Ollama wire formats on one port,
// per-model timing from a profile, N-slot queueing, fault injection, a control API under
// /_sim/, and a ground-truth JSONL record of every request served.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { stamp, monoMs, type Stamp } from './clock.ts';
import { Rng, sample } from './random.ts';
import { TimerWheel } from './timer-wheel.ts';
import { ProfileStore, type ModelProfile, type Profile } from './profile.ts';
import { FaultTable, parseFaultSpec, IMMEDIATE_FAULTS, type ActiveFault, type ImmediateFault, type StreamErrorKind } from './faults.ts';
import { Slots } from './slots.ts';
import { RateWindows } from './rate-window.ts';
import { JsonlSink } from './jsonl-sink.ts';
import { SimInputError } from './errors.ts';
import { BodyTooLarge, listen, parseJson, readBody, sendJson, type Listening } from './http-util.ts';
import { countInputTokens, embed, pickTokens, tokensText } from './text.ts';
import { TRUTH_SCHEMA, type Outcome, type TruthChunk, type TruthRecord } from './truth.ts';
import type { TlsMaterial } from './tls.ts';
import type { CallContext, ChatFormat, ErrorKind, ParsedCall } from './formats/types.ts';
import { WireBadRequest } from './formats/types.ts';
import { openaiChat } from './formats/openai-chat.ts';
import { openaiResponses } from './formats/openai-responses.ts';
import { anthropicMessages } from './formats/anthropic.ts';
import { gemini, geminiPathModel } from './formats/gemini.ts';
import { ollamaChat, ollamaGenerate } from './formats/ollama.ts';
import { openaiError, openaiHeaders } from './formats/openai-common.ts';

const MAX_BODY = 8 * 1024 * 1024;
const MAX_CHUNKS_RECORDED = 20_000;

export interface ProviderOptions {
  port: number;
  host?: string;
  tls?: TlsMaterial;
  truthPath?: string | null;
  profile: Profile;
}

/** DESIGN.md error.type for each fault the simulator can apply. */
const EXPECTED_ERROR: Record<string, string | null> = {
  rate_limited: 'rate_limited',
  quota_exhausted: 'quota_exhausted',
  overloaded: 'overloaded',
  server_error: 'server_error',
  context_length_exceeded: 'context_length_exceeded',
  model_not_found: 'model_not_found',
  auth: 'auth',
  stream_error: 'stream_error',
  stream_interrupted: 'stream_interrupted',
  connection_reset: 'connection_reset',
  slow_ttft: null,
  slow_headers: null,
  stall: null,
};

interface Stats {
  requests: number;
  by_outcome: Record<string, number>;
  by_fault: Record<string, number>;
  bad_requests: number;
  control_errors: number;
  in_flight: number;
}

function routeFormat(method: string, path: string): ChatFormat | 'embeddings' | 'ollama_embed' | 'ollama_embeddings' | null {
  if (method !== 'POST') return null;
  switch (path) {
    case '/v1/chat/completions':
    case '/chat/completions':
      return openaiChat;
    case '/v1/responses':
    case '/responses':
      return openaiResponses;
    case '/v1/messages':
      return anthropicMessages;
    case '/api/chat':
      return ollamaChat;
    case '/api/generate':
      return ollamaGenerate;
    case '/v1/embeddings':
    case '/embeddings':
      return 'embeddings';
    case '/api/embed':
      return 'ollama_embed';
    case '/api/embeddings':
      return 'ollama_embeddings';
  }
  return geminiPathModel(path) ? gemini : null;
}

export class SimProvider {
  readonly store: ProfileStore;
  readonly faults: FaultTable;
  readonly wheel = new TimerWheel();
  private readonly rng: Rng;
  private readonly slots = new Map<string, Slots>();
  private readonly rates = new RateWindows();
  private readonly truth: JsonlSink;
  private listening: Listening | null = null;
  private obfuscations: string[];
  private obIdx = 0;
  private seq = 0;
  readonly stats: Stats = { requests: 0, by_outcome: {}, by_fault: {}, bad_requests: 0, control_errors: 0, in_flight: 0 };

  constructor(private readonly opts: ProviderOptions) {
    this.store = new ProfileStore(opts.profile);
    this.rng = new Rng(opts.profile.seed);
    this.faults = new FaultTable(new Rng(opts.profile.seed ^ 0x5eed));
    const t0 = monoMs();
    for (const f of opts.profile.faults) this.faults.add(f, t0);
    this.truth = new JsonlSink(opts.truthPath ?? null);
    // The tokenizer builds its tables on first use: pay that at start, not on request one.
    countInputTokens('warm up the tokenizer');
    // Random-length obfuscation strings, precomputed: like OpenAI's, they vary chunk sizes.
    this.obfuscations = Array.from({ length: 64 }, () => this.rng.hex(1 + Math.floor(this.rng.next() * 15)).replace(/^(.)/, (c) => c.toUpperCase()));
  }

  get url(): string {
    if (!this.listening) throw new Error('simulator not started');
    return this.listening.url;
  }

  async start(): Promise<string> {
    this.listening = await listen((req, res) => this.handle(req, res), { port: this.opts.port, host: this.opts.host ?? '127.0.0.1', tls: this.opts.tls });
    return this.listening.url;
  }

  async stop(): Promise<void> {
    await this.listening?.close();
    this.wheel.stop();
    await this.truth.close();
  }

  private slotsFor(model: string, p: ModelProfile): Slots {
    let s = this.slots.get(model);
    if (!s) {
      if (this.slots.size > 10_000) this.slots.clear();
      s = new Slots(p.slots, p.max_queue);
      this.slots.set(model, s);
    }
    // Profiles can be patched at run time.
    s.capacity = p.slots;
    s.maxQueue = p.max_queue;
    return s;
  }

  private requestId(): string {
    return `req_${(++this.seq).toString(16).padStart(8, '0')}${this.rng.hex(16)}`;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    // A client that vanishes mid-write must never become an uncaught 'error' event.
    res.on('error', () => undefined);
    req.on('error', () => undefined);
    const url = new URL(req.url ?? '/', 'http://sim.local');
    const path = url.pathname;
    if (path.startsWith('/_sim/')) {
      this.control(req, res, path).catch((err) => this.internalError(res, err));
      return;
    }
    if (req.method === 'GET' && (path === '/v1/models' || path === '/api/tags')) {
      const names = Object.keys(this.store.current.models);
      sendJson(res, 200, path === '/api/tags' ? { models: names.map((name) => ({ name, model: name })) } : { object: 'list', data: names.map((id) => ({ id, object: 'model', created: 0, owned_by: 'llmslo-sim' })) });
      return;
    }
    const route = routeFormat(req.method ?? 'GET', path);
    if (!route) {
      sendJson(res, 404, { error: { message: `Unknown request URL: ${req.method} ${path}`, type: 'invalid_request_error', param: null, code: 'unknown_url' } });
      return;
    }
    this.stats.in_flight++;
    const done = () => {
      this.stats.in_flight--;
    };
    const p = route === 'embeddings' || route === 'ollama_embed' || route === 'ollama_embeddings' ? this.serveEmbeddings(req, res, url, route) : this.serveChat(req, res, url, route);
    p.catch((err) => this.internalError(res, err)).finally(done);
  }

  private internalError(res: ServerResponse, err: unknown): void {
    process.stderr.write(`llmslo sim: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    if (!res.headersSent) sendJson(res, 500, { error: { message: 'simulator internal error', type: 'server_error' } });
    else res.destroy();
  }

  private newRecord(req: IncomingMessage, path: string, api: string, provider: string, operation: string, requestId: string, received: Stamp): TruthRecord {
    const retry = req.headers['x-stainless-retry-count'];
    return {
      schema: TRUTH_SCHEMA,
      request_id: requestId,
      api,
      provider,
      operation,
      method: req.method ?? '',
      path,
      model: null,
      stream: false,
      include_usage: false,
      tls: !!this.opts.tls,
      client: { address: req.socket.remoteAddress ?? null, port: req.socket.remotePort ?? null },
      server_port: req.socket.localPort ?? null,
      traceparent: typeof req.headers.traceparent === 'string' ? req.headers.traceparent : null,
      retry_count: typeof retry === 'string' && /^\d+$/.test(retry) ? Number(retry) : null,
      received,
      slot: null,
      queue_ms: null,
      headers: null,
      first_chunk: null,
      first_token: null,
      end: null,
      status: null,
      fault: null,
      fault_id: null,
      expected_error_type: null,
      outcome: 'ok',
      usage: null,
      planned_output_tokens: null,
      planned_headers_ms: null,
      planned_ttft_ms: null,
      lateness_ms: null,
      content_chunks: 0,
      chunks: [],
    };
  }

  private finishRecord(rec: TruthRecord, outcome: Outcome): void {
    rec.outcome = outcome;
    if (!rec.end) rec.end = stamp();
    if (outcome === 'client_closed' && rec.expected_error_type === null) rec.expected_error_type = 'client_cancelled';
    this.stats.requests++;
    this.stats.by_outcome[outcome] = (this.stats.by_outcome[outcome] ?? 0) + 1;
    if (rec.fault) this.stats.by_fault[rec.fault] = (this.stats.by_fault[rec.fault] ?? 0) + 1;
    this.truth.write(rec);
  }

  private sendError(res: ServerResponse, rec: TruthRecord, reply: { status: number; body: unknown; headers?: Record<string, string> }, baseHeaders: Record<string, string>): void {
    rec.status = reply.status;
    rec.headers = stamp();
    sendJson(res, reply.status, reply.body, { ...baseHeaders, ...(reply.headers ?? {}) });
    rec.end = stamp();
    this.finishRecord(rec, 'error_status');
  }

  /** Waits for the body, or answers 400/413 itself and returns null. */
  private async body(req: IncomingMessage, res: ServerResponse, onBad: (message: string, status: number) => void): Promise<{ value: unknown } | null> {
    let buf: Buffer;
    try {
      buf = await readBody(req, MAX_BODY);
    } catch (err) {
      if (err instanceof BodyTooLarge) onBad(err.message, 413);
      else res.destroy();
      return null;
    }
    const parsed = parseJson(buf);
    if (!parsed.ok) {
      onBad(parsed.message, 400);
      return null;
    }
    // Wrapped: a JSON `null` body is a value to reject, not "already answered".
    return { value: parsed.value };
  }

  private async serveChat(req: IncomingMessage, res: ServerResponse, url: URL, format: ChatFormat): Promise<void> {
    const requestId = this.requestId();
    let closed = false;
    const closeWaiters: Array<() => void> = [];
    res.on('close', () => {
      if (!res.writableFinished) {
        closed = true;
        for (const w of closeWaiters.splice(0)) w();
      }
    });
    const raw = await this.body(req, res, (message, status) => {
      const rec = this.newRecord(req, url.pathname, format.api, format.provider, format.operation, requestId, stamp());
      rec.expected_error_type = status === 413 ? 'request_too_large' : 'bad_request';
      this.stats.bad_requests++;
      const reply = format.error('bad_request', { model: '', requestId, inputTokens: 0, contextWindow: 0, retryAfterS: 0, message });
      this.sendError(res, rec, { ...reply, status }, format.headers({ requestId, processingMs: 0, rate: this.rates.charge('', 0, 1, 1) }));
    });
    if (raw === null) return;
    const received = stamp();
    const rec = this.newRecord(req, url.pathname, format.api, format.provider, format.operation, requestId, received);
    let call: ParsedCall;
    try {
      call = format.parse(raw.value, url);
    } catch (err) {
      if (!(err instanceof WireBadRequest)) throw err;
      this.stats.bad_requests++;
      rec.expected_error_type = 'bad_request';
      const reply = format.error('bad_request', { model: '', requestId, inputTokens: 0, contextWindow: 0, retryAfterS: 0, message: err.message });
      this.sendError(res, rec, reply, format.headers({ requestId, processingMs: 0, rate: this.rates.charge('', 0, 1, 1) }));
      return;
    }
    rec.model = call.model;
    rec.stream = call.stream;
    rec.include_usage = call.includeUsage;
    const inputTokens = countInputTokens(call.inputText);
    const profile = this.store.resolve(call.model);
    const fault = this.faults.pick(call.model);
    const p = profile ?? this.store.current.defaults;
    const receivedMs = monoMs();
    const rate = this.rates.charge(call.model, inputTokens, p.rate_limit_rpm, p.rate_limit_tpm);
    const headerCtx = () => ({ requestId, processingMs: monoMs() - receivedMs, rate });
    const errCtx = { model: call.model, requestId, inputTokens, contextWindow: p.context_window, retryAfterS: fault?.retry_after_s ?? 2, status: fault?.status };

    const immediate = async (kind: ErrorKind, f: ActiveFault | null, label: string | null = null) => {
      rec.fault = f?.fault ?? label;
      rec.fault_id = f?.id ?? null;
      rec.expected_error_type = kind === 'bad_request' ? 'bad_request' : EXPECTED_ERROR[kind] ?? kind;
      await this.wheel.sleep(sample(p.headers_ms, this.rng));
      if (closed) return this.finishRecord(rec, 'client_closed');
      this.sendError(res, rec, format.error(kind, errCtx), format.headers(headerCtx()));
    };

    if (!profile) return immediate('model_not_found', null);
    if (fault && (IMMEDIATE_FAULTS as readonly string[]).includes(fault.fault)) return immediate(fault.fault as ImmediateFault, fault);
    if (inputTokens > p.context_window) return immediate('context_length_exceeded', null);

    // Queue for a slot on the model's server.
    const slots = this.slotsFor(call.model, p);
    const queuedAt = monoMs();
    const ticket = slots.acquire();
    if (!ticket) {
      return immediate('overloaded', null, 'queue_full');
    }
    const cancelWait = new Promise<void>((resolve) => closeWaiters.push(resolve));
    await Promise.race([ticket.granted, cancelWait]);
    if (closed) {
      ticket.cancel();
      return this.finishRecord(rec, 'client_closed');
    }
    rec.slot = stamp();
    rec.queue_ms = Math.round((monoMs() - queuedAt) * 1000) / 1000;
    if (fault) {
      rec.fault = fault.fault;
      rec.fault_id = fault.id;
      rec.expected_error_type = EXPECTED_ERROR[fault.fault] ?? null;
    }
    try {
      await this.generate(req, res, format, call, p, inputTokens, fault, rec, headerCtx, () => closed, closeWaiters);
    } finally {
      slots.release();
    }
  }

  private async generate(
    req: IncomingMessage,
    res: ServerResponse,
    format: ChatFormat,
    call: ParsedCall,
    p: ModelProfile,
    inputTokens: number,
    fault: ActiveFault | null,
    rec: TruthRecord,
    headerCtx: () => { requestId: string; processingMs: number; rate: import('./formats/types.ts').RateLimitState },
    isClosed: () => boolean,
    closeWaiters: Array<() => void>,
  ): Promise<void> {
    const rng = this.rng;
    const sampled = Math.max(1, Math.round(sample(p.output_tokens, rng)));
    const outTokens = call.maxTokens !== null ? Math.min(sampled, call.maxTokens) : sampled;
    const finish = call.maxTokens !== null && sampled > call.maxTokens ? 'length' : 'stop';
    rec.planned_output_tokens = outTokens;
    const ids = pickTokens(outTokens, rng);
    const f = fault?.fault;
    const headersDelay = sample(p.headers_ms, rng) + (f === 'slow_headers' ? (fault!.delay_ms ?? 3000) : 0);
    const ttft = sample(p.ttft_ms, rng) + p.prefill_ms_per_input_token * inputTokens + (f === 'slow_ttft' ? (fault!.delay_ms ?? 3000) : 0);
    const t0 = monoMs();
    rec.planned_headers_ms = Math.round(headersDelay * 1000) / 1000;
    rec.planned_ttft_ms = Math.round(Math.max(ttft, headersDelay) * 1000) / 1000;
    const usage = { input: inputTokens, output: outTokens };
    const faultAfter = fault ? Math.min(fault.after_tokens ?? Math.floor(outTokens / 2), outTokens) : 0;
    const ctx: CallContext = {
      requestId: rec.request_id,
      responseId: `${format.provider === 'anthropic' ? 'msg_' : format.api === 'openai.responses' ? 'resp_' : format.provider === 'openai' ? 'chatcmpl-' : ''}${rng.hex(24)}`,
      itemId: `msg_${rng.hex(24)}`,
      model: call.model,
      created: Math.floor(Date.now() / 1000),
      inputTokens,
      includeUsage: call.includeUsage,
      seq: 0,
      text: '',
      outputTokens: 0,
      prefix: '',
      suffix: '',
      obfuscate: () => this.obfuscations[this.obIdx++ & 63],
      startedNs: rec.received.mono_ns,
      firstTokenNs: 0,
      variant: call.variant ?? '',
    };
    const waitClosed = () => new Promise<void>((resolve) => closeWaiters.push(resolve));
    const socket: Socket = req.socket;

    if (!call.stream) {
      // A non-streaming call takes the whole generation time before its single response.
      let total = Math.max(ttft, headersDelay);
      for (let i = 1; i < outTokens; i++) total += sample(p.itl_ms, rng);
      if (f === 'stall') total += fault!.delay_ms ?? 0;
      if (f === 'stall' && fault!.delay_ms === undefined) {
        await waitClosed();
        return this.finishRecord(rec, 'client_closed');
      }
      await this.wheel.until(t0 + total);
      if (isClosed()) return this.finishRecord(rec, 'client_closed');
      if (f === 'connection_reset' || f === 'stream_interrupted') {
        rec.end = stamp();
        if (f === 'connection_reset') resetSocket(socket);
        else socket.destroy();
        return this.finishRecord(rec, f);
      }
      if (f === 'stream_error') {
        rec.expected_error_type = EXPECTED_ERROR[fault!.error ?? 'overloaded'];
        const kind: ErrorKind = fault!.error ?? 'overloaded';
        this.sendError(res, rec, format.error(kind, { model: call.model, requestId: rec.request_id, inputTokens, contextWindow: p.context_window, retryAfterS: 2 }), format.headers(headerCtx()));
        return;
      }
      const text = tokensText(ids);
      // Where the first token would have been, for APIs that report phase durations (Ollama).
      ctx.firstTokenNs = Number(process.hrtime.bigint()) - (monoMs() - (t0 + Math.max(ttft, headersDelay))) * 1e6;
      rec.status = 200;
      rec.headers = stamp();
      rec.usage = { input_tokens: usage.input, output_tokens: usage.output };
      sendJson(res, 200, format.complete(ctx, text, usage, finish), format.headers(headerCtx()));
      rec.end = stamp();
      return this.finishRecord(rec, 'ok');
    }

    // Streaming: headers, then chunks on the timer wheel at absolute times (no drift).
    await this.wheel.until(t0 + headersDelay);
    if (isClosed()) return this.finishRecord(rec, 'client_closed');
    res.writeHead(200, { 'content-type': format.streamContentType(call), 'cache-control': 'no-cache', ...format.headers(headerCtx()) });
    res.flushHeaders();
    rec.status = 200;
    rec.headers = stamp();
    // Body chunks go straight to the socket, framed once as HTTP/1.1 chunks: one write per
    // event instead of node's four corked writes, which matters at 10k+ chunks/s.
    const direct = res.chunkedEncoding && !socket.destroyed;
    const write = (data: string, kind: TruthChunk['kind'], tokens: number) => {
      if (data.length === 0) return;
      const s = stamp();
      const bytes = Buffer.byteLength(data);
      if (direct) socket.write(`${bytes.toString(16)}\r\n${data}\r\n`);
      else res.write(data);
      if (!rec.first_chunk) rec.first_chunk = s;
      if (kind === 'content') {
        if (!rec.first_token) rec.first_token = s;
        rec.content_chunks++;
      }
      if (rec.chunks.length < MAX_CHUNKS_RECORDED) rec.chunks.push({ mono_ns: s.mono_ns, wall_ms: s.wall_ms, kind, tokens, bytes });
    };
    const endBody = () => {
      if (direct) {
        socket.write('0\r\n\r\n');
        // The terminating chunk is written: let end() finish the response without framing.
        res.chunkedEncoding = false;
      }
      res.end();
    };
    let preambleSent = false;
    if (format.preambleAtHeaders) {
      write(format.preamble(ctx), 'meta', 0);
      preambleSent = true;
    }
    let next = t0 + Math.max(ttft, headersDelay);
    const perChunk = p.tokens_per_chunk;
    let sent = 0;
    let stalled = false;
    let lateSum = 0;
    let lateMax = 0;
    let lateN = 0;
    while (sent < outTokens) {
      await this.wheel.until(next);
      if (isClosed()) return this.finishRecord(rec, 'client_closed');
      const late = monoMs() - next;
      lateSum += late;
      lateN++;
      if (late > lateMax) lateMax = late;
      rec.lateness_ms = { mean: Math.round((lateSum / lateN) * 1000) / 1000, max: Math.round(lateMax * 1000) / 1000 };
      if (fault && sent >= faultAfter) {
        if (f === 'stall' && !stalled) {
          stalled = true;
          if (fault.delay_ms === undefined) {
            await waitClosed();
            return this.finishRecord(rec, 'client_closed');
          }
          next = monoMs() + fault.delay_ms;
          continue;
        }
        if (f === 'stream_error') {
          if (!preambleSent) write(format.preamble(ctx), 'meta', 0);
          write(format.streamError(ctx, (fault.error ?? 'overloaded') as StreamErrorKind), 'error', 0);
          rec.usage = null;
          endBody();
          rec.end = stamp();
          return this.finishRecord(rec, 'stream_error');
        }
        if (f === 'stream_interrupted' || f === 'connection_reset') {
          rec.end = stamp();
          // Interrupted: FIN without the terminating chunk; reset: TCP RST.
          if (f === 'connection_reset') resetSocket(socket);
          else socket.end(() => socket.destroy());
          return this.finishRecord(rec, f);
        }
      }
      const n = Math.min(perChunk, outTokens - sent, fault && f !== 'stall' && sent < faultAfter ? faultAfter - sent : Infinity);
      sent += n;
      ctx.outputTokens = sent;
      if (!ctx.firstTokenNs) ctx.firstTokenNs = Number(process.hrtime.bigint());
      let data = '';
      if (!preambleSent) {
        data = format.preamble(ctx);
        preambleSent = true;
      }
      data += format.delta(ctx, tokensText(ids, sent - n, sent), sent === outTokens, finish);
      write(data, 'content', n);
      if (sent < outTokens) next += sample(p.itl_ms, rng);
    }
    write(format.finish(ctx, usage, finish), 'end', 0);
    rec.usage = call.includeUsage ? { input_tokens: usage.input, output_tokens: usage.output } : null;
    endBody();
    rec.end = stamp();
    this.finishRecord(rec, 'ok');
  }

  private async serveEmbeddings(req: IncomingMessage, res: ServerResponse, url: URL, route: 'embeddings' | 'ollama_embed' | 'ollama_embeddings'): Promise<void> {
    const requestId = this.requestId();
    const isOllama = route !== 'embeddings';
    const api = isOllama ? `ollama.${route === 'ollama_embed' ? 'embed' : 'embeddings'}` : 'openai.embeddings';
    const provider = isOllama ? 'ollama' : 'openai';
    const headersFor = (rate: import('./formats/types.ts').RateLimitState, processingMs: number) => (isOllama ? { 'x-request-id': requestId } : openaiHeaders({ requestId, processingMs, rate }));
    const bad = (rec: TruthRecord, message: string, status = 400) => {
      this.stats.bad_requests++;
      rec.expected_error_type = status === 413 ? 'request_too_large' : 'bad_request';
      const reply = isOllama ? { status, body: { error: message } } : { ...openaiError('bad_request', { model: '', requestId, inputTokens: 0, contextWindow: 0, retryAfterS: 0, message }), status };
      this.sendError(res, rec, reply, headersFor(this.rates.charge('', 0, 1, 1), 0));
    };
    const raw = await this.body(req, res, (message, status) => bad(this.newRecord(req, url.pathname, api, provider, 'embeddings', requestId, stamp()), message, status));
    if (raw === null) return;
    const rec = this.newRecord(req, url.pathname, api, provider, 'embeddings', requestId, stamp());
    const o = raw.value && typeof raw.value === 'object' && !Array.isArray(raw.value) ? (raw.value as Record<string, unknown>) : null;
    if (!o || typeof o.model !== 'string' || o.model === '') return bad(rec, "'model' is required and must be a non-empty string");
    const input = route === 'ollama_embeddings' ? o.prompt : o.input;
    const inputs = typeof input === 'string' ? [input] : Array.isArray(input) && input.length > 0 && input.length <= 2048 && input.every((x) => typeof x === 'string') ? (input as string[]) : null;
    if (!inputs) return bad(rec, `'${route === 'ollama_embeddings' ? 'prompt' : 'input'}' must be a string or a non-empty array of at most 2048 strings`);
    const encoding = o.encoding_format ?? 'float';
    if (encoding !== 'float' && encoding !== 'base64') return bad(rec, "'encoding_format' must be 'float' or 'base64'");
    rec.model = o.model;
    const profile = this.store.resolve(o.model);
    const p = profile ?? this.store.current.defaults;
    let dim = p.embedding_dim;
    if (o.dimensions !== undefined) {
      if (typeof o.dimensions !== 'number' || !Number.isInteger(o.dimensions) || o.dimensions < 2 || o.dimensions > 8192) return bad(rec, "'dimensions' must be an integer in [2, 8192]");
      dim = o.dimensions;
    }
    const tokens = inputs.reduce((a, s) => a + countInputTokens(s), 0);
    const t0 = monoMs();
    const rate = this.rates.charge(o.model, tokens, p.rate_limit_rpm, p.rate_limit_tpm);
    const fault = this.faults.pick(o.model);
    const delay = sample(p.embed_ms, this.rng) + (fault?.fault === 'slow_ttft' || fault?.fault === 'slow_headers' || fault?.fault === 'stall' ? (fault.delay_ms ?? 3000) : 0);
    await this.wheel.until(t0 + delay);
    if (res.destroyed) return this.finishRecord(rec, 'client_closed');
    const errKind: ErrorKind | null = !profile ? 'model_not_found' : fault && (IMMEDIATE_FAULTS as readonly string[]).includes(fault.fault) ? (fault.fault as ErrorKind) : tokens > p.context_window * inputs.length ? 'context_length_exceeded' : null;
    if (fault) {
      rec.fault = fault.fault;
      rec.fault_id = fault.id;
      rec.expected_error_type = EXPECTED_ERROR[fault.fault] ?? null;
    }
    if (errKind) {
      rec.expected_error_type = EXPECTED_ERROR[errKind] ?? errKind;
      const ctx = { model: o.model, requestId, inputTokens: tokens, contextWindow: p.context_window, retryAfterS: fault?.retry_after_s ?? 2, status: fault?.status };
      const reply = isOllama ? ollamaChat.error(errKind, ctx) : openaiError(errKind, ctx);
      return this.sendError(res, rec, reply, headersFor(rate, monoMs() - t0));
    }
    if (fault && (fault.fault === 'connection_reset' || fault.fault === 'stream_interrupted' || fault.fault === 'stream_error')) {
      rec.end = stamp();
      if (fault.fault === 'connection_reset') resetSocket(req.socket);
      else req.socket.destroy();
      return this.finishRecord(rec, fault.fault === 'connection_reset' ? 'connection_reset' : 'stream_interrupted');
    }
    const vectors = inputs.map((s) => embed(s, dim));
    let body: unknown;
    if (route === 'ollama_embeddings') body = { embedding: vectors[0] };
    else if (isOllama) body = { model: o.model, embeddings: vectors, total_duration: Math.round((monoMs() - t0) * 1e6), load_duration: 1_000_000, prompt_eval_count: tokens };
    else {
      const enc = (v: number[]) => (encoding === 'base64' ? Buffer.from(new Float32Array(v).buffer).toString('base64') : v);
      body = { object: 'list', data: vectors.map((v, index) => ({ object: 'embedding', index, embedding: enc(v) })), model: o.model, usage: { prompt_tokens: tokens, total_tokens: tokens } };
    }
    rec.status = 200;
    rec.headers = stamp();
    rec.usage = { input_tokens: tokens, output_tokens: 0 };
    sendJson(res, 200, body, headersFor(rate, monoMs() - t0));
    rec.end = stamp();
    this.finishRecord(rec, 'ok');
  }

  // ---- control API -------------------------------------------------------------------

  private async control(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    const fail = (status: number, message: string) => {
      this.stats.control_errors++;
      sendJson(res, status, { error: message });
    };
    const jsonBody = async (): Promise<{ ok: true; value: unknown } | { ok: false }> => {
      let buf: Buffer;
      try {
        buf = await readBody(req, 1024 * 1024);
      } catch (err) {
        fail(413, err instanceof Error ? err.message : String(err));
        return { ok: false };
      }
      const parsed = parseJson(buf);
      if (!parsed.ok) {
        fail(400, parsed.message);
        return { ok: false };
      }
      return parsed;
    };
    try {
      const method = req.method ?? 'GET';
      if (path === '/_sim/faults') {
        if (method === 'GET') return sendJson(res, 200, { faults: this.faults.list() });
        if (method === 'DELETE') return sendJson(res, 200, { cleared: this.faults.clear() });
        if (method === 'POST') {
          const body = await jsonBody();
          if (!body.ok) return;
          const specs = Array.isArray(body.value) ? body.value.map((v, i) => parseFaultSpec(`faults[${i}]`, v, true)) : [parseFaultSpec('fault', body.value, true)];
          const added = specs.map((s) => this.faults.add(s));
          return sendJson(res, 201, { added });
        }
        return fail(405, `method ${method} not allowed on ${path} (GET, POST, DELETE)`);
      }
      if (path === '/_sim/profile') {
        if (method === 'GET') return sendJson(res, 200, this.store.current);
        if (method === 'PATCH' || method === 'POST') {
          const body = await jsonBody();
          if (!body.ok) return;
          this.store.patch(body.value);
          return sendJson(res, 200, this.store.current);
        }
        return fail(405, `method ${method} not allowed on ${path} (GET, PATCH)`);
      }
      if (path === '/_sim/stats' && method === 'GET') {
        const queues: Record<string, { running: number; queued: number; capacity: number }> = {};
        for (const [m, s] of this.slots) queues[m] = { running: s.running, queued: s.queued, capacity: s.capacity };
        return sendJson(res, 200, { ...this.stats, queues, truth: { written: this.truth.written, dropped: this.truth.dropped }, timers_pending: this.wheel.pending });
      }
      if (path === '/_sim/health' && method === 'GET') return sendJson(res, 200, { ok: true });
      return fail(404, `unknown control endpoint ${method} ${path} (faults, profile, stats, health)`);
    } catch (err) {
      if (err instanceof SimInputError) return fail(400, err.message);
      throw err;
    }
  }
}

/** Sends a TCP RST (SO_LINGER 0) where the socket supports it, else destroys it. */
function resetSocket(socket: Socket): void {
  const s = socket as Socket & { resetAndDestroy?: () => Socket; _parent?: Socket };
  try {
    // TLS sockets wrap a plain TCP socket; the reset must go to that one.
    const target = (s._parent as (Socket & { resetAndDestroy?: () => Socket }) | undefined) ?? s;
    if (typeof target.resetAndDestroy === 'function' && (target as unknown as { _handle?: { reset?: unknown } })._handle?.reset) {
      target.resetAndDestroy();
      if (target !== s) s.destroy();
      return;
    }
  } catch {
    // fall through
  }
  s.destroy();
}
