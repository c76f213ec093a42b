// Which adapter (if any) follows a request: decided from the path first (vLLM, TGI, llama.cpp,
// LiteLLM and Ollama run under any host name), the host for the provider name, and the body
// shape where a path is ambiguous (TGI's /generate).
import type { Adapter } from './adapter.ts';
import { anthropicMessages } from './adapters/anthropic.ts';
import { geminiEmbed, geminiGenerate } from './adapters/gemini.ts';
import { ollamaEmbed, ollamaGenerate } from './adapters/ollama.ts';
import { openaiChat, openaiEmbeddings, openaiResponses } from './adapters/openai.ts';
import { tgiGenerate } from './adapters/tgi.ts';
import type { Operation } from './records.ts';
import { BoundedMemo } from '../util/bounded_memo.ts';
import { decodeSegment } from '../util/uri.ts';

export interface LlmRoute {
  adapter: Adapter;
  adapterName: string;
  operation: Operation;
  provider: string;
  /** Model named in the URL (Gemini, Azure deployment). */
  pathModel: string | null;
  /** The URL says it streams (Gemini streamGenerateContent, TGI generate_stream). */
  pathStream: boolean;
  /** Needs the request body to confirm (shape check). */
  confirm: ((body: unknown) => boolean) | null;
  /** For a response seen without its request: whether its payloads were recognised. */
  recognised?: () => boolean;
}

const HOST_PROVIDERS: [RegExp, string][] = [
  [/(^|\.)api\.openai\.com$/, 'openai'],
  [/\.openai\.azure\.com$|\.cognitiveservices\.azure\.com$|\.services\.ai\.azure\.com$/, 'azure.ai.openai'],
  [/(^|\.)api\.anthropic\.com$/, 'anthropic'],
  [/(^|\.)generativelanguage\.googleapis\.com$/, 'gcp.gemini'],
  [/aiplatform\.googleapis\.com$/, 'gcp.vertex_ai'],
  [/(^|\.)api\.groq\.com$/, 'groq'],
  [/(^|\.)api\.deepseek\.com$/, 'deepseek'],
  [/(^|\.)api\.mistral\.ai$/, 'mistral_ai'],
  [/(^|\.)api\.x\.ai$/, 'x_ai'],
  [/(^|\.)api\.perplexity\.ai$/, 'perplexity'],
  [/(^|\.)api\.cohere\.(ai|com)$/, 'cohere'],
  [/(^|\.)api\.moonshot\.(ai|cn)$/, 'moonshot_ai'],
  [/(^|\.)openrouter\.ai$/, 'openrouter'],
  [/(^|\.)api\.together\.(xyz|ai)$/, 'together_ai'],
  [/(^|\.)api\.fireworks\.ai$/, 'fireworks_ai'],
];

/** Host -> provider, remembered: a node talks to few hosts, and 15 regex tests per call add up. */
const providerOfHost = new BoundedMemo<string, string | null>(1024, (host) => {
  for (const [re, name] of HOST_PROVIDERS) if (re.test(host)) return name;
  return null;
});

export function providerFromHost(host: string | null): string | null {
  return host === null ? null : providerOfHost.get(host);
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

const GEMINI = /\/models\/([^/:]+):(generateContent|streamGenerateContent|embedContent|batchEmbedContents)$/;
const VERTEX_ANTHROPIC = /\/publishers\/anthropic\/models\/([^/:]+):(rawPredict|streamRawPredict)$/;
const AZURE_DEPLOYMENT = /\/openai\/deployments\/([^/]+)\//;

/**
 * Route a request. `path` is without the query string; `query` is the raw query (may be '').
 * Returns null when the request is not an LLM call we follow.
 */
export function routeLlmRequest(method: string, host: string | null, path: string, query: string, hasAnthropicVersion: boolean): LlmRoute | null {
  if (method !== 'POST') return null;
  const hostProvider = providerFromHost(host);
  const base = (adapter: Adapter, adapterName: string, operation: Operation, provider: string): LlmRoute => ({
    adapter,
    adapterName,
    operation,
    provider,
    pathModel: null,
    pathStream: false,
    confirm: null,
  });

  let m = GEMINI.exec(path);
  if (m) {
    const provider = hostProvider === 'gcp.vertex_ai' || /\/projects\/[^/]+\/locations\//.test(path) ? 'gcp.vertex_ai' : hostProvider === 'gcp.gemini' ? 'gcp.gemini' : 'gcp.gen_ai';
    const verb = m[2]!;
    const embed = verb === 'embedContent' || verb === 'batchEmbedContents';
    const r = base(embed ? geminiEmbed : geminiGenerate, embed ? 'gemini_embed' : 'gemini', embed ? 'embeddings' : 'generate_content', provider);
    r.pathModel = decodeSegment(m[1]!);
    r.pathStream = verb === 'streamGenerateContent';
    return r;
  }
  m = VERTEX_ANTHROPIC.exec(path);
  if (m) {
    const r = base(anthropicMessages, 'anthropic', 'chat', 'gcp.vertex_ai');
    r.pathModel = decodeSegment(m[1]!);
    r.pathStream = m[2] === 'streamRawPredict';
    return r;
  }
  // Ollama native API
  if (path === '/api/chat') return base(ollamaGenerate, 'ollama', 'chat', 'ollama');
  if (path === '/api/generate') return base(ollamaGenerate, 'ollama', 'text_completion', 'ollama');
  if (path === '/api/embed' || path === '/api/embeddings') return base(ollamaEmbed, 'ollama_embed', 'embeddings', 'ollama');

  const openaiProvider = (): string => {
    if (hostProvider !== null) return hostProvider;
    if (AZURE_DEPLOYMENT.test(path) || /api-version=/.test(query)) return 'azure.ai.openai';
    return 'openai_compatible';
  };
  const withAzureModel = (r: LlmRoute): LlmRoute => {
    const d = AZURE_DEPLOYMENT.exec(path);
    if (d) r.pathModel = decodeSegment(d[1]!);
    return r;
  };
  if (path.endsWith('/chat/completions')) return withAzureModel(base(openaiChat, 'openai_chat', 'chat', openaiProvider()));
  if (path.endsWith('/responses')) return withAzureModel(base(openaiResponses, 'openai_responses', 'chat', openaiProvider()));
  if (path.endsWith('/embeddings')) return withAzureModel(base(openaiEmbeddings, 'openai_embeddings', 'embeddings', openaiProvider()));
  if (path.endsWith('/completions')) return withAzureModel(base(openaiChat, 'openai_completions', 'text_completion', openaiProvider()));
  if (path.endsWith('/v1/messages') || (hasAnthropicVersion && path.endsWith('/messages'))) {
    const provider = hostProvider === null || hostProvider === 'anthropic' ? 'anthropic' : hostProvider;
    return base(anthropicMessages, 'anthropic', 'chat', provider);
  }
  if (path === '/generate' || path === '/generate_stream' || path.endsWith('/generate_stream')) {
    const r = base(tgiGenerate, 'tgi', 'text_completion', 'tgi');
    r.pathStream = path.endsWith('/generate_stream');
    r.confirm = (body) => isObj(body) && 'inputs' in body;
    return r;
  }
  return null;
}

/**
 * A route for a response whose request was never seen: the adapter is chosen from the first
 * recognisable stream payload (chat chunk, Anthropic event, Responses event, Gemini chunk,
 * Ollama line, TGI token). Until then payloads are ignored; if none is recognised, no record.
 */
export function sniffingRoute(host: string | null): LlmRoute {
  let chosen: Adapter | null = null;
  const hostProvider = providerFromHost(host);
  const pick = (event: string | null, data: string): { adapter: Adapter; operation: Operation; provider: string } | null => {
    if ((event !== null && (event.startsWith('message_') || event.startsWith('content_block_'))) || data.startsWith('{"type":"message_start"'))
      return { adapter: anthropicMessages, operation: 'chat', provider: hostProvider ?? 'anthropic' };
    if ((event !== null && event.startsWith('response.')) || data.startsWith('{"type":"response.'))
      return { adapter: openaiResponses, operation: 'chat', provider: hostProvider ?? 'openai_compatible' };
    if (data.includes('"chat.completion.chunk"') || (data.startsWith('{') && data.includes('"choices":[')))
      return { adapter: openaiChat, operation: 'chat', provider: hostProvider ?? 'openai_compatible' };
    if (data.includes('"candidates":') || data.includes('"usageMetadata":'))
      return { adapter: geminiGenerate, operation: 'generate_content', provider: hostProvider ?? 'gcp.gen_ai' };
    if (data.includes('"done":') && data.includes('"model":')) return { adapter: ollamaGenerate, operation: data.includes('"message":') ? 'chat' : 'text_completion', provider: 'ollama' };
    if (data.includes('"token":{') && data.includes('"generated_text"')) return { adapter: tgiGenerate, operation: 'text_completion', provider: 'tgi' };
    return null;
  };
  const sniffer: Adapter = {
    get skipKeys() {
      return chosen?.skipKeys;
    },
    onRequest() {},
    onStreamPayload(event, data, st) {
      if (chosen === null) {
        const p = pick(event, data);
        if (p === null) return 0;
        chosen = p.adapter;
        st.operation = p.operation;
        st.provider = p.provider;
        if (p.adapter === ollamaGenerate) st.requestedStream = true;
      }
      return chosen.onStreamPayload(event, data, st);
    },
    onBody() {
      /* whole bodies without their request are not followed */
    },
  };
  return {
    adapter: sniffer,
    adapterName: 'sniffed',
    operation: 'chat',
    provider: hostProvider ?? 'openai_compatible',
    pathModel: null,
    pathStream: true,
    confirm: null,
    recognised: () => chosen !== null,
  };
}
