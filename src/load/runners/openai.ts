// The official `openai` npm SDK as a load client: chat completions (stream or not),
// responses, embeddings. Records what the SDK yields and the error class it raises.
import OpenAI from 'openai';
import { stamp } from '../../sim/clock.ts';
import { fetchFor } from '../node-http.ts';
import { markChunk, markError, startRecord } from '../record.ts';
import type { ClientRecord, RequestSpec } from '../types.ts';
import type { Runner } from './runner.ts';

export class OpenAIRunner implements Runner {
  readonly name = 'openai' as const;
  private readonly clients = new Map<string, OpenAI>();

  private client(spec: RequestSpec): OpenAI {
    const key = `${spec.baseUrl}|${spec.caFile}|${spec.maxRetries}|${spec.timeoutS}`;
    let c = this.clients.get(key);
    if (!c) {
      c = new OpenAI({ baseURL: `${spec.baseUrl.replace(/\/+$/, '')}/v1`, apiKey: 'sk-sim', maxRetries: spec.maxRetries, timeout: spec.timeoutS * 1000, fetch: fetchFor(spec.caFile) });
      this.clients.set(key, c);
    }
    return c;
  }

  async run(spec: RequestSpec): Promise<ClientRecord> {
    const rec = startRecord('openai', spec);
    const client = this.client(spec);
    const headers = spec.traceparent ? { traceparent: spec.traceparent } : undefined;
    try {
      if (spec.api === 'chat') {
        const messages = [{ role: 'user' as const, content: spec.prompt }];
        if (spec.stream) {
          const { data, response, request_id } = await client.chat.completions
            .create({ model: spec.model, messages, max_tokens: spec.maxTokens, stream: true, ...(spec.includeUsage ? { stream_options: { include_usage: true } } : {}) }, { headers })
            .withResponse();
          rec.headers = stamp();
          rec.status = response.status;
          rec.request_id = request_id;
          for await (const chunk of data) {
            markChunk(rec, chunk.choices.some((c) => !!c.delta?.content));
            if (chunk.usage) {
              rec.input_tokens = chunk.usage.prompt_tokens;
              rec.output_tokens = chunk.usage.completion_tokens;
            }
          }
        } else {
          const { data, response, request_id } = await client.chat.completions.create({ model: spec.model, messages, max_tokens: spec.maxTokens }, { headers }).withResponse();
          rec.headers = stamp();
          rec.status = response.status;
          rec.request_id = request_id;
          rec.input_tokens = data.usage?.prompt_tokens ?? null;
          rec.output_tokens = data.usage?.completion_tokens ?? null;
        }
      } else if (spec.api === 'responses') {
        if (spec.stream) {
          const { data, response, request_id } = await client.responses.create({ model: spec.model, input: spec.prompt, max_output_tokens: spec.maxTokens, stream: true }, { headers }).withResponse();
          rec.headers = stamp();
          rec.status = response.status;
          rec.request_id = request_id;
          for await (const ev of data) {
            markChunk(rec, ev.type === 'response.output_text.delta' && ev.delta.length > 0);
            if (ev.type === 'response.completed' && ev.response.usage) {
              rec.input_tokens = ev.response.usage.input_tokens;
              rec.output_tokens = ev.response.usage.output_tokens;
            }
            if (ev.type === 'response.failed') throw Object.assign(new Error(`response.failed: ${ev.response.error?.message ?? ''}`), { code: ev.response.error?.code });
          }
        } else {
          const { data, response, request_id } = await client.responses.create({ model: spec.model, input: spec.prompt, max_output_tokens: spec.maxTokens }, { headers }).withResponse();
          rec.headers = stamp();
          rec.status = response.status;
          rec.request_id = request_id;
          rec.input_tokens = data.usage?.input_tokens ?? null;
          rec.output_tokens = data.usage?.output_tokens ?? null;
        }
      } else if (spec.api === 'embeddings') {
        const { data, response, request_id } = await client.embeddings.create({ model: spec.model, input: spec.prompt }, { headers }).withResponse();
        rec.headers = stamp();
        rec.status = response.status;
        rec.request_id = request_id;
        rec.input_tokens = data.usage.prompt_tokens;
        rec.output_tokens = 0;
      } else {
        throw new Error(`the openai runner does not speak api '${spec.api}' (chat, responses, embeddings)`);
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
