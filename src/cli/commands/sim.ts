// `llmslo sim provider|vectordb|rag`: the simulated LLM provider, Qdrant-compatible vector
// DB and RAG application server. Each prints one `listening on URL` line when ready and
// runs until SIGINT/SIGTERM.
import { CliError } from '../errors.ts';
import { numberOption, parseCommandArgs } from '../args.ts';

const USAGE = `usage:
  llmslo sim provider --port P [--host H] [--tls] [--ca-out FILE] [--truth FILE] [--profile FILE]
  llmslo sim vectordb --port P [--host H] [--tls] [--ca-out FILE] [--truth FILE] [--latency-ms N]
  llmslo sim rag --port P --llm URL --vectordb URL [--host H] [--model M] [--embed-model M] [--collection C]
                 [--top-k N] [--max-tokens N] [--ca FILE] [--otel] [--otlp-endpoint URL] [--truth FILE]

The provider serves OpenAI (/v1/chat/completions, /v1/responses, /v1/embeddings), Anthropic
(/v1/messages), Gemini (models/{m}:streamGenerateContent?alt=sse, :generateContent) and Ollama
(/api/chat, /api/generate, /api/embed). Control: GET|POST|DELETE /_sim/faults,
GET|PATCH /_sim/profile, GET /_sim/stats. See docs/sim.md.`;

function waitForSignal(): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      process.off('SIGINT', done);
      process.off('SIGTERM', done);
      resolve();
    };
    process.on('SIGINT', done);
    process.on('SIGTERM', done);
  });
}

async function provider(argv: string[]): Promise<number> {
  const { values } = parseCommandArgs('sim provider', argv, {
    port: { type: 'string' },
    host: { type: 'string' },
    tls: { type: 'boolean' },
    'ca-out': { type: 'string' },
    truth: { type: 'string' },
    profile: { type: 'string' },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const port = portOf('sim provider', values.port);
  if (values['ca-out'] && !values.tls) throw new CliError('sim provider: --ca-out needs --tls', 2);
  const { SimInputError } = await import('../../sim/errors.ts');
  const { loadProfileFile, parseProfile } = await import('../../sim/profile.ts');
  const { SimProvider } = await import('../../sim/provider.ts');
  let profile;
  try {
    profile = values.profile ? loadProfileFile(values.profile) : parseProfile({});
  } catch (err) {
    if (err instanceof SimInputError) throw new CliError(`sim provider: ${err.message}`, 2);
    throw err;
  }
  const tls = values.tls ? await makeTls(values['ca-out']) : undefined;
  const sim = new SimProvider({ port, host: values.host ?? '127.0.0.1', tls, truthPath: values.truth ?? null, profile });
  const url = await sim.start().catch((err: NodeJS.ErrnoException) => {
    throw new CliError(`sim provider: cannot listen on ${values.host ?? '127.0.0.1'}:${port}: ${err.code ?? err.message}`);
  });
  console.log(`listening on ${url}`);
  await waitForSignal();
  await sim.stop();
  return 0;
}

async function makeTls(caOut: string | undefined) {
  const { generateTls } = await import('../../sim/tls.ts');
  try {
    return generateTls(caOut);
  } catch (err) {
    throw new CliError(`sim: cannot create TLS certificate: ${(err as Error).message}`);
  }
}

function portOf(cmd: string, raw: string | undefined): number {
  if (raw === undefined) throw new CliError(`${cmd}: --port is required (0 picks a free port)`, 2);
  const port = numberOption(cmd, 'port', raw, 0, { min: 0, integer: true });
  if (port > 65535) throw new CliError(`${cmd}: --port must be <= 65535, got ${port}`, 2);
  return port;
}

async function vectordb(argv: string[]): Promise<number> {
  const { values } = parseCommandArgs('sim vectordb', argv, {
    port: { type: 'string' },
    host: { type: 'string' },
    tls: { type: 'boolean' },
    'ca-out': { type: 'string' },
    truth: { type: 'string' },
    'latency-ms': { type: 'string' },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const port = portOf('sim vectordb', values.port);
  if (values['ca-out'] && !values.tls) throw new CliError('sim vectordb: --ca-out needs --tls', 2);
  const latency = numberOption('sim vectordb', 'latency-ms', values['latency-ms'], 3, { min: 0 });
  const { SimVectorDb } = await import('../../sim/vectordb.ts');
  const tls = values.tls ? await makeTls(values['ca-out']) : undefined;
  const db = new SimVectorDb({ port, host: values.host ?? '127.0.0.1', tls, truthPath: values.truth ?? null, latencyMs: { dist: 'lognormal', median: latency, sigma: 0.3 } });
  const url = await db.start().catch((err: NodeJS.ErrnoException) => {
    throw new CliError(`sim vectordb: cannot listen on port ${port}: ${err.code ?? err.message}`);
  });
  console.log(`listening on ${url}`);
  await waitForSignal();
  await db.stop();
  return 0;
}

async function rag(argv: string[]): Promise<number> {
  const { values } = parseCommandArgs('sim rag', argv, {
    port: { type: 'string' },
    host: { type: 'string' },
    llm: { type: 'string' },
    vectordb: { type: 'string' },
    model: { type: 'string' },
    'embed-model': { type: 'string' },
    collection: { type: 'string' },
    'top-k': { type: 'string' },
    'max-tokens': { type: 'string' },
    ca: { type: 'string' },
    otel: { type: 'boolean' },
    'otlp-endpoint': { type: 'string' },
    truth: { type: 'string' },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const port = portOf('sim rag', values.port);
  for (const key of ['llm', 'vectordb'] as const) {
    const v = values[key];
    if (!v) throw new CliError(`sim rag: --${key} URL is required`, 2);
    if (!/^https?:\/\/[^/]+/.test(v)) throw new CliError(`sim rag: --${key} must be an http(s) URL, got '${v}'`, 2);
  }
  if (values['otlp-endpoint'] && !values.otel) throw new CliError('sim rag: --otlp-endpoint needs --otel', 2);
  const { existsSync } = await import('node:fs');
  if (values.ca && !existsSync(values.ca)) throw new CliError(`sim rag: --ca file not found: ${values.ca}`, 2);
  const { SimRag } = await import('../../sim/rag.ts');
  const app = new SimRag({
    port,
    host: values.host ?? '127.0.0.1',
    llmUrl: values.llm!,
    vectordbUrl: values.vectordb!,
    model: values.model ?? 'gpt-4o-mini',
    embedModel: values['embed-model'] ?? 'text-embedding-3-small',
    collection: values.collection ?? 'docs',
    topK: numberOption('sim rag', 'top-k', values['top-k'], 4, { min: 1, integer: true }),
    maxTokens: numberOption('sim rag', 'max-tokens', values['max-tokens'], 64, { min: 1, integer: true }),
    caFile: values.ca ?? null,
    otel: !!values.otel,
    otlpEndpoint: values['otlp-endpoint'] ?? null,
    truthPath: values.truth ?? null,
  });
  const url = await app.start().catch((err: NodeJS.ErrnoException) => {
    throw new CliError(`sim rag: cannot start: ${err.code ?? err.message}`);
  });
  console.log(`listening on ${url}`);
  await waitForSignal();
  await app.stop();
  return 0;
}

export async function main(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  switch (sub) {
    case 'provider':
      return provider(rest);
    case 'vectordb':
      return vectordb(rest);
    case 'rag':
      return rag(rest);
    case undefined:
    case '--help':
    case '-h':
    case 'help':
      console.log(USAGE);
      return sub ? 0 : 2;
    default:
      throw new CliError(`sim: unknown subcommand '${sub}' (provider, vectordb, rag)`, 2);
  }
}
