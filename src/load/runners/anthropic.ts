// The official `@anthropic-ai/sdk` npm SDK as a load client for the Messages API.
import Anthropic from '@anthropic-ai/sdk';
import { stamp } from '../../sim/clock.ts';
import { fetchFor } from '../node-http.ts';
import { markChunk, markError, startRecord } from '../record.ts';
import type { ClientRecord, RequestSpec } from '../types.ts';
import type { Runner } from './runner.ts';

export class AnthropicRunner implements Runner {
  readonly name = 'anthropic' as const;
  private readonly clients = new Map<string, Anthropic>();

  private client(spec: RequestSpec): Anthropic {
    const key = `${spec.baseUrl}|${spec.caFile}|${spec.maxRetries}|${spec.timeoutS}`;
    let c = this.clients.get(key);
    if (!c) {
      c = new Anthropic({ baseURL: spec.baseUrl.replace(/\/+$/, ''), apiKey: 'sk-ant-sim', maxRetries: spec.maxRetries, timeout: spec.timeoutS * 1000, fetch: fetchFor(spec.caFile) });
      this.clients.set(key, c);
    }
    return c;
  }

  async run(spec: RequestSpec): Promise<ClientRecord> {
    const rec = startRecord('anthropic', spec);
    const headers = spec.traceparent ? { traceparent: spec.traceparent } : undefined;
    try {
      if (spec.api !== 'messages') throw new Error(`the anthropic runner only speaks api 'messages', not '${spec.api}'`);
      const params = { model: spec.model, max_tokens: spec.maxTokens, messages: [{ role: 'user' as const, content: spec.prompt }] };
      const client = this.client(spec);
      if (spec.stream) {
        const { data, response, request_id } = await client.messages.create({ ...params, stream: true }, { headers }).withResponse();
        rec.headers = stamp();
        rec.status = response.status;
        rec.request_id = request_id ?? null;
        for await (const ev of data) {
          markChunk(rec, ev.type === 'content_block_delta');
          if (ev.type === 'message_start') rec.input_tokens = ev.message.usage.input_tokens;
          if (ev.type === 'message_delta') rec.output_tokens = ev.usage.output_tokens;
        }
      } else {
        const { data, response, request_id } = await client.messages.create(params, { headers }).withResponse();
        rec.headers = stamp();
        rec.status = response.status;
        rec.request_id = request_id ?? null;
        rec.input_tokens = data.usage.input_tokens;
        rec.output_tokens = data.usage.output_tokens;
      }
      rec.ok = true;
    } catch (err) {
      markError(rec, err);
    }
    rec.end = stamp();
    return rec;
  }

  async close(): Promise<void> {
    this.clients.clear();
  }
}
