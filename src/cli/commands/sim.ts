// `llmslo sim provider|vectordb|rag`: the simulated LLM provider, Qdrant-compatible vector
// DB and RAG application server. Each prints one `listening on URL` line when ready and
// runs until SIGINT/SIGTERM.
import { CliError } from '../errors.ts';
import { numberOption, parseCommandArgs } from '../args.ts';

const USAGE = `usage:
  llmslo sim provider --port P [--host H] [--tls] [--ca-out FILE] [--truth FILE] [--profile FILE]
  llmslo sim vectordb --port P [--host H] [--tls] [--ca-out FILE] [--truth FILE] [--latency-ms N] [--seed-docs N]
  llmslo sim rag --port P --llm URL --vectordb URL [--host H] [--model M] [--embed-model M] [--collection C]
                 [--ca FILE] [--otel] [--otlp-endpoint URL] [--truth FILE]

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
  if (values.port === undefined) throw new CliError('sim provider: --port is required (0 picks a free port)', 2);
  const port = numberOption('sim provider', 'port', values.port, 0, { min: 0, integer: true });
  if (port > 65535) throw new CliError(`sim provider: --port must be <= 65535, got ${port}`, 2);
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

export async function main(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  switch (sub) {
    case 'provider':
      return provider(rest);
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
