// The synthetic mixed recording the parser benchmarks run on: many keep-alive connections
// carrying OpenAI chat, Responses, Anthropic, Gemini (CRLF) and Ollama NDJSON streams with
// realistic payloads, chunked transfer encoding, reads aligned to server writes (or cut
// anywhere), connections interleaved in time. Deterministic for a given seed.
import type { StreamEvent } from '../../src/capture/stream.ts';

export interface RecordingOptions {
  calls: number;
  conns: number;
  /** aligned: reads follow server writes; random: reads cut anywhere (worst case). */
  cuts: 'aligned' | 'random';
  /**
   * arrival (default): payloads in one buffer in arrival order, events created in that order, as
   * a capture delivers them (ring-buffer batches, `llmslo record` files); scattered: each call's
   * bytes where they were built, so consecutive events touch unrelated memory.
   */
  layout?: 'arrival' | 'scattered';
}

// deterministic PRNG
let seed = 12345;
const rnd = (): number => {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff;
  return seed / 0x7fffffff;
};
const ri = (a: number, b: number): number => a + Math.floor(rnd() * (b - a + 1));
const WORDS = ['the', ' model', ' answer', ' is', ' a', ' token', ',', ' stream', ' of', ' text', ' and', ' more', '.', ' Hello', ' world', ' latency'];
const word = (): string => WORDS[ri(0, WORDS.length - 1)]!;
const obf = (): string => 'abcdefghijklmnop'.slice(0, ri(2, 14));

const KINDS = ['openai', 'responses', 'anthropic', 'gemini', 'ollama'] as const;
export type Kind = (typeof KINDS)[number];

export interface Call {
  req: Buffer;
  head: Buffer;
  events: Buffer[]; // body pieces, one per model event
  chunked: boolean;
}

function chatReq(path: string, host: string, body: unknown): Buffer {
  const b = JSON.stringify(body);
  return Buffer.from(`POST ${path} HTTP/1.1\r\nhost: ${host}\r\nuser-agent: OpenAI/Python 1.99\r\ncontent-type: application/json\r\ntraceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\r\ncontent-length: ${Buffer.byteLength(b)}\r\n\r\n${b}`);
}
const msgs = [{ role: 'system', content: 'You are a helpful assistant.' }, { role: 'user', content: 'Tell me about latency in streaming APIs.' }];

export function makeCall(kind: Kind, n: number): Call {
  const ev: Buffer[] = [];
  const sse = (o: unknown, event?: string, eol = '\n'): Buffer => Buffer.from(`${event ? `event: ${event}${eol}` : ''}data: ${JSON.stringify(o)}${eol}${eol}`);
  switch (kind) {
    case 'openai': {
      const base = { id: 'chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT', object: 'chat.completion.chunk', created: 1741569952, model: 'gpt-4o-2024-08-06', service_tier: 'default', system_fingerprint: 'fp_f9f4fb6dbf' };
      ev.push(sse({ ...base, choices: [{ index: 0, delta: { role: 'assistant', content: '', refusal: null }, logprobs: null, finish_reason: null }], usage: null, obfuscation: obf() }));
      for (let i = 0; i < n; i++) ev.push(sse({ ...base, choices: [{ index: 0, delta: { content: word() }, logprobs: null, finish_reason: null }], usage: null, obfuscation: obf() }));
      ev.push(sse({ ...base, choices: [{ index: 0, delta: {}, logprobs: null, finish_reason: 'stop' }], usage: null, obfuscation: obf() }));
      ev.push(sse({ ...base, choices: [], usage: { prompt_tokens: 40, completion_tokens: n, total_tokens: 40 + n, prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 }, completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0 } } }));
      ev.push(Buffer.from('data: [DONE]\n\n'));
      return { req: chatReq('/v1/chat/completions', 'api.openai.com', { model: 'gpt-4o', messages: msgs, stream: true, stream_options: { include_usage: true } }), head: Buffer.from('HTTP/1.1 200 OK\r\ndate: Mon, 10 Mar 2025 01:25:52 GMT\r\ncontent-type: text/event-stream; charset=utf-8\r\ntransfer-encoding: chunked\r\nconnection: keep-alive\r\nx-ratelimit-remaining-requests: 9999\r\nx-ratelimit-remaining-tokens: 29950\r\nx-request-id: req_7a8e3d2b9c1f4e5a6b7c8d9e0f1a2b3c\r\nopenai-processing-ms: 180\r\n\r\n'), events: ev, chunked: true };
    }
    case 'responses': {
      ev.push(sse({ type: 'response.created', response: { id: 'resp_67ccd2bed1ec8190', object: 'response', status: 'in_progress', model: 'gpt-4.1-2025-04-14', output: [], usage: null }, sequence_number: 0 }, 'response.created'));
      for (let i = 0; i < n; i++) ev.push(sse({ type: 'response.output_text.delta', sequence_number: i + 1, item_id: 'msg_67ccd2bf17f0819081ff3bb2cf6508e6', output_index: 0, content_index: 0, delta: word(), logprobs: [], obfuscation: obf() }, 'response.output_text.delta'));
      ev.push(sse({ type: 'response.completed', response: { id: 'resp_67ccd2bed1ec8190', object: 'response', status: 'completed', model: 'gpt-4.1-2025-04-14', usage: { input_tokens: 36, input_tokens_details: { cached_tokens: 0 }, output_tokens: n, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 36 + n } }, sequence_number: n + 1 }, 'response.completed'));
      return { req: chatReq('/v1/responses', 'api.openai.com', { model: 'gpt-4.1', input: 'Tell me about latency', stream: true }), head: Buffer.from('HTTP/1.1 200 OK\r\ncontent-type: text/event-stream; charset=utf-8\r\ntransfer-encoding: chunked\r\nx-request-id: req_1\r\n\r\n'), events: ev, chunked: true };
    }
    case 'anthropic': {
      const pad = (s: string): Buffer => Buffer.from(s.replace(/}\n\n$/, ' '.repeat(ri(0, 12)) + '}\n\n'));
      ev.push(pad(sse({ type: 'message_start', message: { id: 'msg_01XFDUDYJgAACzvnptvVoYEL', type: 'message', role: 'assistant', content: [], model: 'claude-sonnet-4-20250514', stop_reason: null, stop_sequence: null, usage: { input_tokens: 25, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: 1 } } }, 'message_start').toString()));
      ev.push(sse({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }, 'content_block_start'));
      ev.push(sse({ type: 'ping' }, 'ping'));
      for (let i = 0; i < n; i++) ev.push(pad(sse({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: word() } }, 'content_block_delta').toString()));
      ev.push(sse({ type: 'content_block_stop', index: 0 }, 'content_block_stop'));
      ev.push(sse({ type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: n } }, 'message_delta'));
      ev.push(sse({ type: 'message_stop' }, 'message_stop'));
      return { req: chatReq('/v1/messages', 'api.anthropic.com', { model: 'claude-sonnet-4-20250514', max_tokens: 1024, messages: msgs.slice(1), stream: true }), head: Buffer.from('HTTP/1.1 200 OK\r\ncontent-type: text/event-stream; charset=utf-8\r\ntransfer-encoding: chunked\r\nrequest-id: req_011CXPARVjo8UvP4CTbGH6Mm\r\nanthropic-ratelimit-requests-remaining: 49\r\n\r\n'), events: ev, chunked: true };
    }
    case 'gemini': {
      // Gemini sends fewer, bigger chunks
      const m = Math.max(1, Math.ceil(n / 8));
      for (let i = 0; i < m; i++) {
        const text = Array.from({ length: 8 }, word).join('');
        const last = i === m - 1;
        ev.push(sse({ candidates: [{ content: { role: 'model', parts: [{ text }] }, ...(last ? { finishReason: 'STOP' } : {}) }], usageMetadata: { promptTokenCount: 8, candidatesTokenCount: (i + 1) * 8, totalTokenCount: 8 + (i + 1) * 8, thoughtsTokenCount: 0 }, modelVersion: 'gemini-2.5-flash', responseId: 'auXjaInRJPP02PgP1dnn0Qo' }, undefined, '\r\n'));
      }
      return { req: chatReq('/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse', 'generativelanguage.googleapis.com', { contents: [{ role: 'user', parts: [{ text: 'Tell me about latency' }] }] }), head: Buffer.from('HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncontent-disposition: attachment\r\ntransfer-encoding: chunked\r\n\r\n'), events: ev, chunked: true };
    }
    case 'ollama': {
      for (let i = 0; i < n; i++) ev.push(Buffer.from(JSON.stringify({ model: 'llama3.2:3b', created_at: '2025-05-19T09:26:59.678947Z', message: { role: 'assistant', content: word() }, done: false }) + '\n'));
      ev.push(Buffer.from(JSON.stringify({ model: 'llama3.2:3b', created_at: '2025-05-19T09:27:00.1Z', message: { role: 'assistant', content: '' }, done_reason: 'stop', done: true, total_duration: 482007750, load_duration: 52719542, prompt_eval_count: 26, prompt_eval_duration: 44457208, eval_count: n, eval_duration: 384438167 }) + '\n'));
      return { req: chatReq('/api/chat', 'localhost:11434', { model: 'llama3.2:3b', messages: msgs }), head: Buffer.from('HTTP/1.1 200 OK\r\ncontent-type: application/x-ndjson\r\ntransfer-encoding: chunked\r\n\r\n'), events: ev, chunked: true };
    }
  }
}

export const chunkFrame = (b: Buffer): Buffer => Buffer.concat([Buffer.from(`${b.length.toString(16)}\r\n`), b, Buffer.from('\r\n')]);

/** Build the whole recording: per connection a sequence of calls; reads cut anywhere. */
export function buildRecording(o: RecordingOptions): { events: StreamEvent[]; streamChunks: number; bytes: number } {
  // KINDS=openai,gemini: only those (to see what each costs); default: the mix below
  const kinds: Kind[] = process.env.KINDS ? (process.env.KINDS.split(',') as Kind[]) : ['openai', 'openai', 'openai', 'responses', 'anthropic', 'anthropic', 'gemini', 'ollama'];
  const unknown = kinds.find((k) => !KINDS.includes(k));
  if (unknown !== undefined) throw new Error(`KINDS: unknown stream kind ${JSON.stringify(unknown)} (one of ${KINDS.join(', ')})`);
  const perConn: StreamEvent[][] = [];
  let streamChunks = 0;
  let bytes = 0;
  const callsPerConn = Math.ceil(o.calls / o.conns);
  seed = 12345;
  for (let c = 0; c < o.conns; c++) {
    const evs: StreamEvent[] = [];
    let t = 1_000_000_000 + c * 1_000_000;
    const tls = c % 4 !== 0;
    evs.push({ kind: 'open', tsNs: t, conn: { connId: c, pid: 1000 + (c % 16), tid: 1000, cgroupId: 5, local: { address: '10.0.0.2', port: 40000 + c }, remote: { address: '10.0.0.9', port: 443 }, tls, serverName: 'api.example.com' } });
    for (let k = 0; k < callsPerConn; k++) {
      const call = makeCall(kinds[ri(0, kinds.length - 1)]!, ri(Number(process.env.CMIN ?? 50), Number(process.env.CMAX ?? 400)));
      streamChunks += call.events.length;
      evs.push({ kind: 'data', connId: c, direction: 'egress', tsNs: (t += 1000), bytes: call.req, missingAfter: 0, tls });
      const body = Buffer.concat([...call.events.map(chunkFrame), Buffer.from('0\r\n\r\n')]);
      const wire = Buffer.concat([call.head, body]);
      bytes += wire.length + call.req.length;
      const read = (b: Buffer): void => {
        evs.push({ kind: 'data', connId: c, direction: 'ingress', tsNs: (t += ri(5_000_000, 40_000_000)), bytes: b, missingAfter: 0, tls });
      };
      if (o.cuts === 'random') {
        // reads cut at arbitrary points (40-700 bytes): events usually span two reads
        let pos = 0;
        while (pos < wire.length) {
          const n = Math.min(wire.length - pos, ri(40, 700));
          read(wire.subarray(pos, pos + n));
          pos += n;
        }
      } else {
        // reads follow the server's writes, as SSL_read / read() of a paced stream do: one event
        // (with its chunk framing) per read, sometimes two coalesced, sometimes one split in two
        read(call.head);
        const frames = call.events.map(chunkFrame);
        frames[frames.length - 1] = Buffer.concat([frames[frames.length - 1]!, Buffer.from('0\r\n\r\n')]);
        for (let i = 0; i < frames.length; i++) {
          const r = rnd();
          if (r < 0.1 && i + 1 < frames.length) {
            read(Buffer.concat([frames[i]!, frames[i + 1]!]));
            i++;
          } else if (r < 0.15) {
            const f = frames[i]!;
            const cut = ri(1, f.length - 1);
            read(f.subarray(0, cut));
            read(f.subarray(cut));
          } else read(frames[i]!);
        }
      }
    }
    evs.push({ kind: 'close', connId: c, tsNs: (t += 1000), reason: 'local_close' });
    perConn.push(evs);
  }
  // interleave connections by timestamp
  const all = perConn.flat().sort((a, b) => a.tsNs - b.tsNs);
  return { events: o.layout === 'scattered' ? all : inArrivalOrder(all), streamChunks, bytes };
}

/** The same events with their payloads copied into one buffer, in order (see layout). */
function inArrivalOrder(events: StreamEvent[]): StreamEvent[] {
  let total = 0;
  for (const e of events) if (e.kind === 'data') total += e.bytes.length;
  const arena = Buffer.allocUnsafe(total);
  let off = 0;
  return events.map((e) => {
    if (e.kind !== 'data') return e;
    arena.set(e.bytes, off);
    const bytes = arena.subarray(off, (off += e.bytes.length));
    return { kind: 'data', connId: e.connId, direction: e.direction, tsNs: e.tsNs, bytes, missingAfter: e.missingAfter, tls: e.tls };
  });
}

