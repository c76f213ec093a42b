// Node's fetch speaking the raw wire format of any API (Gemini, Ollama, the RAG app, ...).
import { stamp } from '../../sim/clock.ts';
import { fetchFor } from '../node-http.ts';
import { markChunk, markError, startRecord } from '../record.ts';
import { EventSplitter, buildRequest, classify, isNdjson, usageOf } from '../wire.ts';
import type { ClientRecord, RequestSpec } from '../types.ts';
import type { Runner } from './runner.ts';

export class FetchRunner implements Runner {
  readonly name = 'fetch' as const;

  async run(spec: RequestSpec): Promise<ClientRecord> {
    const rec = startRecord('fetch', spec);
    const wire = buildRequest(spec);
    try {
      const res = await fetchFor(spec.caFile)(wire.url, { method: 'POST', headers: wire.headers, body: wire.body, signal: AbortSignal.timeout(spec.timeoutS * 1000) });
      rec.headers = stamp();
      rec.status = res.status;
      rec.request_id = res.headers.get('x-request-id') ?? res.headers.get('request-id');
      const streamed = spec.stream && res.ok && spec.api !== 'embeddings' && !(res.headers.get('content-type') ?? '').startsWith('application/json');
      if (!streamed) {
        const text = await res.text();
        let body: unknown = null;
        try {
          body = JSON.parse(text);
        } catch {
          body = null;
        }
        const u = usageOf(spec.api, body);
        rec.input_tokens = u.input ?? null;
        rec.output_tokens = u.output ?? null;
        if (!res.ok) {
          rec.error_type = 'HTTPError';
          rec.error_code = u.errorCode ?? null;
          rec.error_message = text.slice(0, 300);
        } else rec.ok = true;
      } else {
        const splitter = new EventSplitter(isNdjson(spec.api));
        const decoder = new TextDecoder();
        let terminal = false;
        for await (const part of res.body as unknown as AsyncIterable<Uint8Array>) {
          for (const ev of splitter.push(decoder.decode(part, { stream: true }))) {
            const info = classify(spec.api, ev.event, ev.data);
            markChunk(rec, info.content);
            if (info.inputTokens !== undefined) rec.input_tokens = info.inputTokens;
            if (info.outputTokens !== undefined) rec.output_tokens = info.outputTokens;
            if (info.errorCode) rec.error_code = info.errorCode;
            if (info.terminal) terminal = true;
          }
        }
        if (rec.error_code) {
          rec.error_type = 'StreamError';
        } else if (!terminal) {
          rec.error_type = 'StreamInterrupted';
        } else rec.ok = true;
      }
    } catch (err) {
      markError(rec, err);
    }
    rec.end = stamp();
    return rec;
  }

  async close(): Promise<void> {}
}
