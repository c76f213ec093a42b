// A RAG application server: for each POST /ask it embeds the question (OpenAI embeddings,
// official SDK), searches the vector DB (Qdrant REST), then streams a chat completion
// (official SDK) and relays the answer as SSE. Every outbound call carries a W3C
// traceparent of its own client span, so app spans can be joined with kernel-captured calls.
import type { IncomingMessage, ServerResponse } from 'node:http';
import OpenAI from 'openai';
import { stamp, type Stamp } from './clock.ts';
import { JsonlSink } from './jsonl-sink.ts';
import { listen, parseJson, readBody, sendJson, type Listening } from './http-util.ts';
import { parseTraceparent } from './traceparent.ts';
import { PlainTracer, createOtelTracer, type RagTracer, type SpanHandle, type SpanRecord } from './rag-tracing.ts';
import { fetchFor, type FetchFn } from '../load/node-http.ts';
import type { TlsMaterial } from './tls.ts';

export interface RagOptions {
  port: number;
  host?: string;
  tls?: TlsMaterial;
  llmUrl: string;
  vectordbUrl: string;
  model: string;
  embedModel: string;
  collection: string;
  topK: number;
  maxTokens: number;
  caFile: string | null;
  otel: boolean;
  otlpEndpoint: string | null;
  truthPath: string | null;
}

const SERVICES = ['checkout', 'search', 'payments', 'inventory', 'auth', 'recommendations', 'billing', 'notifications'];
const FACTS = [
  (s: string, n: number) => `The ${s} service keeps its p99 latency under ${n * 10} ms by caching hot keys in memory.`,
  (s: string, n: number) => `The ${s} service has an availability SLO of 99.${n}% measured over a rolling 28 day window.`,
  (s: string, n: number) => `When the ${s} service is rate limited it retries with exponential backoff starting at ${n * 50} ms.`,
  (s: string, n: number) => `The ${s} service runs ${n + 2} replicas per zone and scales on request queue depth.`,
  (s: string, n: number) => `Error budget burn for the ${s} service pages the on-call engineer at a ${n + 10}x burn rate.`,
  (s: string, n: number) => `The ${s} service stores its vector index in collection shard ${n} of the search cluster.`,
];

/** A small deterministic corpus about services and their SLOs. */
export function ragCorpus(): Array<{ id: number; text: string; service: string }> {
  const out: Array<{ id: number; text: string; service: string }> = [];
  SERVICES.forEach((s, i) => FACTS.forEach((f, j) => out.push({ id: out.length + 1, text: f(s, ((i + j) % 9) + 1), service: s })));
  return out;
}

interface RagTruth {
  schema: 'llmslo.sim_rag_truth/v1';
  request_id: string;
  trace_id: string;
  server_span_id: string;
  incoming_traceparent: string | null;
  received: Stamp;
  first_byte: Stamp | null;
  end: Stamp | null;
  status: number;
  error: string | null;
  upstream: Record<string, string | null>;
  spans: SpanRecord[];
}

export class SimRag {
  private tracer: RagTracer = new PlainTracer();
  private readonly truth: JsonlSink;
  private readonly fetch: FetchFn;
  private readonly openai: OpenAI;
  private listening: Listening | null = null;
  private seq = 0;

  constructor(private readonly opts: RagOptions) {
    this.truth = new JsonlSink(opts.truthPath);
    this.fetch = fetchFor(opts.caFile);
    this.openai = new OpenAI({ baseURL: `${opts.llmUrl.replace(/\/+$/, '')}/v1`, apiKey: 'sk-sim', maxRetries: 0, timeout: 60_000, fetch: this.fetch });
  }

  async start(): Promise<string> {
    if (this.opts.otel) this.tracer = await createOtelTracer('llmslo-sim-rag', this.opts.otlpEndpoint);
    await this.ensureCollection();
    this.listening = await listen((req, res) => this.handle(req, res), { port: this.opts.port, host: this.opts.host ?? '127.0.0.1', tls: this.opts.tls });
    return this.listening.url;
  }

  async stop(): Promise<void> {
    await this.listening?.close();
    await this.tracer.shutdown();
    await this.truth.close();
  }

  private vdb(path: string, init: { method: string; body?: unknown; traceparent?: string }): Promise<Response> {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (init.traceparent) headers.traceparent = init.traceparent;
    return this.fetch(`${this.opts.vectordbUrl.replace(/\/+$/, '')}${path}`, { method: init.method, headers, body: init.body === undefined ? undefined : JSON.stringify(init.body), signal: AbortSignal.timeout(30_000) });
  }

  /** Creates the collection and ingests the corpus through the real embeddings API, once. */
  private async ensureCollection(): Promise<void> {
    const c = encodeURIComponent(this.opts.collection);
    const exists = await this.vdb(`/collections/${c}`, { method: 'GET' });
    await exists.arrayBuffer();
    if (exists.ok) return;
    const corpus = ragCorpus();
    const emb = await this.openai.embeddings.create({ model: this.opts.embedModel, input: corpus.map((d) => d.text) });
    const size = emb.data[0].embedding.length;
    const created = await this.vdb(`/collections/${c}`, { method: 'PUT', body: { vectors: { size, distance: 'Cosine' } } });
    if (!created.ok && created.status !== 409) throw new Error(`vector DB refused collection: ${created.status} ${await created.text()}`);
    await created.arrayBuffer().catch(() => undefined);
    const up = await this.vdb(`/collections/${c}/points?wait=true`, { method: 'PUT', body: { points: corpus.map((d, i) => ({ id: d.id, vector: emb.data[i].embedding, payload: { text: d.text, service: d.service } })) } });
    if (!up.ok) throw new Error(`vector DB refused upsert: ${up.status} ${await up.text()}`);
    await up.arrayBuffer();
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    res.on('error', () => undefined);
    req.on('error', () => undefined);
    const url = new URL(req.url ?? '/', 'http://rag.local');
    if (req.method === 'GET' && url.pathname === '/healthz') return sendJson(res, 200, { ok: true, tracing: this.tracer.mode });
    if (req.method !== 'POST' || url.pathname !== '/ask') return sendJson(res, 404, { error: `unknown endpoint ${req.method} ${url.pathname} (POST /ask, GET /healthz)` });
    this.ask(req, res).catch((err: unknown) => {
      process.stderr.write(`llmslo sim rag: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      if (!res.headersSent) sendJson(res, 500, { error: 'internal error' });
      else res.destroy();
    });
  }

  private async ask(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const received = stamp();
    const requestId = `rag_${(++this.seq).toString(16).padStart(8, '0')}`;
    const incoming = typeof req.headers.traceparent === 'string' ? req.headers.traceparent : null;
    const server = this.tracer.startSpan('POST /ask', 'server', parseTraceparent(incoming ?? undefined), { 'http.request.method': 'POST', 'url.path': '/ask' });
    const spans: SpanHandle[] = [server];
    const truth: RagTruth = {
      schema: 'llmslo.sim_rag_truth/v1',
      request_id: requestId,
      trace_id: server.ctx.traceId,
      server_span_id: server.ctx.spanId,
      incoming_traceparent: incoming,
      received,
      first_byte: null,
      end: null,
      status: 0,
      error: null,
      upstream: { embeddings: null, retrieval: null, chat: null },
      spans: [],
    };
    const finish = (status: number, error: string | null) => {
      truth.status = status;
      truth.error = error;
      server.set('http.response.status_code', status);
      server.end(error);
      truth.end = stamp();
      truth.spans = spans.map((s) => s.record);
      this.truth.write(truth);
    };
    const fail = (status: number, stage: string, err: unknown) => {
      const message = err instanceof Error ? err.message : String(err);
      const type = (err as { constructor?: { name?: string } })?.constructor?.name ?? 'Error';
      if (!res.headersSent) sendJson(res, status, { error: { message: `${stage} failed: ${message}`, stage, type }, trace_id: server.ctx.traceId }, { 'x-request-id': requestId });
      finish(status, `${stage}:${type}`);
    };

    let question: string;
    let stream = true;
    let maxTokens = this.opts.maxTokens;
    try {
      const p = parseJson(await readBody(req, 1024 * 1024));
      if (!p.ok) throw new Error(p.message);
      const b = p.value as Record<string, unknown>;
      if (!b || typeof b !== 'object' || typeof b.question !== 'string' || b.question.trim() === '') throw new Error("body must be JSON with a non-empty string 'question'");
      question = b.question;
      if (b.stream === false) stream = false;
      if (b.max_tokens !== undefined) {
        if (typeof b.max_tokens !== 'number' || !Number.isInteger(b.max_tokens) || b.max_tokens < 1) throw new Error("'max_tokens' must be an integer >= 1");
        maxTokens = b.max_tokens;
      }
    } catch (err) {
      return fail(400, 'request', err);
    }

    // 1. Embed the question.
    const embSpan = this.tracer.startSpan(`embeddings ${this.opts.embedModel}`, 'client', server.ctx, { 'gen_ai.operation.name': 'embeddings', 'gen_ai.request.model': this.opts.embedModel });
    spans.push(embSpan);
    let vector: number[];
    try {
      const { data, request_id } = await this.openai.embeddings.create({ model: this.opts.embedModel, input: question }, { headers: { traceparent: embSpan.traceparent() } }).withResponse();
      truth.upstream.embeddings = request_id;
      vector = data.data[0].embedding;
      embSpan.set('gen_ai.usage.input_tokens', data.usage.prompt_tokens);
      embSpan.end();
    } catch (err) {
      embSpan.end((err as Error).constructor.name);
      return fail(502, 'embeddings', err);
    }

    // 2. Vector search.
    const retSpan = this.tracer.startSpan(`retrieval ${this.opts.collection}`, 'client', server.ctx, { 'gen_ai.operation.name': 'retrieval', 'gen_ai.data_source.id': this.opts.collection, 'gen_ai.request.top_k': this.opts.topK });
    spans.push(retSpan);
    let passages: string[];
    try {
      const r = await this.vdb(`/collections/${encodeURIComponent(this.opts.collection)}/points/query`, { method: 'POST', traceparent: retSpan.traceparent(), body: { query: vector, limit: this.opts.topK, with_payload: true } });
      truth.upstream.retrieval = r.headers.get('x-request-id');
      const body = (await r.json()) as { result?: { points?: Array<{ payload?: { text?: string } }> }; status?: unknown };
      if (!r.ok) throw new Error(`vector DB answered ${r.status}: ${JSON.stringify(body.status)}`);
      passages = (body.result?.points ?? []).map((p) => p.payload?.text ?? '').filter(Boolean);
      retSpan.set('db.response.returned_rows', passages.length);
      retSpan.end();
    } catch (err) {
      retSpan.end((err as Error).constructor.name);
      return fail(502, 'retrieval', err);
    }

    // 3. Chat completion, streamed back as it arrives.
    const chatSpan = this.tracer.startSpan(`chat ${this.opts.model}`, 'client', server.ctx, { 'gen_ai.operation.name': 'chat', 'gen_ai.request.model': this.opts.model });
    spans.push(chatSpan);
    const messages = [
      { role: 'system' as const, content: `Answer using only this context:\n${passages.map((p, i) => `[${i + 1}] ${p}`).join('\n')}` },
      { role: 'user' as const, content: question },
    ];
    let usage = { input: 0, output: 0 };
    try {
      const { data, request_id } = await this.openai.chat.completions
        .create({ model: this.opts.model, messages, max_tokens: maxTokens, stream: true, stream_options: { include_usage: true } }, { headers: { traceparent: chatSpan.traceparent() } })
        .withResponse();
      truth.upstream.chat = request_id;
      // A client that leaves mid-answer cancels the upstream stream too.
      res.on('close', () => {
        if (!res.writableFinished) data.controller.abort();
      });
      if (stream) {
        res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', 'x-request-id': requestId, 'x-trace-id': server.ctx.traceId });
        res.flushHeaders();
      }
      let answer = '';
      for await (const chunk of data) {
        const delta = chunk.choices[0]?.delta?.content;
        if (delta) {
          answer += delta;
          if (stream) {
            if (!truth.first_byte) truth.first_byte = stamp();
            res.write(`data: ${JSON.stringify({ delta })}\n\n`);
          }
        }
        if (chunk.usage) usage = { input: chunk.usage.prompt_tokens, output: chunk.usage.completion_tokens };
      }
      if (res.destroyed && !res.writableFinished) {
        chatSpan.end('client_cancelled');
        return finish(200, 'client_cancelled');
      }
      chatSpan.set('gen_ai.usage.input_tokens', usage.input);
      chatSpan.set('gen_ai.usage.output_tokens', usage.output);
      chatSpan.end();
      const summary = { input_tokens: usage.input, output_tokens: usage.output, trace_id: server.ctx.traceId, sources: passages.length };
      if (stream) {
        res.end(`data: ${JSON.stringify({ done: true, ...summary })}\n\n`);
      } else {
        truth.first_byte = stamp();
        sendJson(res, 200, { answer, ...summary }, { 'x-request-id': requestId, 'x-trace-id': server.ctx.traceId });
      }
      finish(200, null);
    } catch (err) {
      const type = (err as Error).constructor.name;
      chatSpan.end(type);
      if (res.headersSent) {
        // The client already has a 200: report the failure in-stream, like the providers do.
        res.end(`data: ${JSON.stringify({ error: { type, message: (err as Error).message } })}\n\n`);
        finish(200, `chat:${type}`);
      } else fail(502, 'chat', err);
    }
  }
}
