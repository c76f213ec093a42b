// `llmslo load`: bounded open- or closed-loop load against the simulator or the RAG app,
// with real clients (openai / @anthropic-ai/sdk npm SDKs, Node fetch, Python, curl), and a
// client-side ground-truth JSONL record per request.
import { existsSync } from 'node:fs';
import { CliError } from '../errors.ts';
import { numberOption, parseCommandArgs } from '../args.ts';

const USAGE = `usage: llmslo load --url URL [options]
  --runner R         openai | anthropic | fetch | python | curl (default openai); a comma-separated
                     list takes turns, e.g. openai,python,curl for Node OpenSSL and libssl at once
  --api A            chat | responses | embeddings | messages | gemini | ollama | rag
                     (default: chat for openai, messages for anthropic, chat otherwise)
  --rate N           open loop: N requests/s (with --arrivals uniform|poisson, default uniform)
  --concurrency N    closed loop: N concurrent clients (default 4 when --rate is absent)
  --count N          stop after N requests (default 100)
  --duration S       stop after S seconds (default 60)
  --max-in-flight N  open loop: drop arrivals beyond N outstanding (default 1000)
  --model M          model name (default gpt-4o-mini / claude-sonnet-4-5 / text-embedding-3-small)
  --no-stream        non-streaming calls (default streaming)
  --no-usage         chat: omit stream_options.include_usage
  --max-tokens N     max output tokens (default 64)
  --prompt TEXT      prompt (default: a short question, numbered per request)
  --ca FILE          trust this CA (the simulator's --ca-out) for https URLs
  --timeout S        per-request timeout (default 60)
  --max-retries N    SDK retries (default 0, so faults stay visible)
  --traceparent      send a fresh W3C traceparent header on every request
  --out FILE         client ground truth JSONL (default: none)
  --json             print the summary as one JSON line on stdout
  --quiet            no progress lines`;

export async function main(argv: string[]): Promise<number> {
  const { values } = parseCommandArgs('load', argv, {
    url: { type: 'string' },
    runner: { type: 'string' },
    api: { type: 'string' },
    rate: { type: 'string' },
    arrivals: { type: 'string' },
    concurrency: { type: 'string' },
    count: { type: 'string' },
    duration: { type: 'string' },
    'max-in-flight': { type: 'string' },
    model: { type: 'string' },
    'no-stream': { type: 'boolean' },
    'no-usage': { type: 'boolean' },
    'max-tokens': { type: 'string' },
    prompt: { type: 'string' },
    ca: { type: 'string' },
    timeout: { type: 'string' },
    'max-retries': { type: 'string' },
    traceparent: { type: 'boolean' },
    out: { type: 'string' },
    json: { type: 'boolean' },
    quiet: { type: 'boolean' },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const { RUNNERS, RUNNER_APIS, makeRunner, RoundRobinRunner } = await import('../../load/runners/index.ts');
  if (!values.url) throw new CliError('load: --url is required (e.g. the URL `llmslo sim provider` printed)', 2);
  let base: URL;
  try {
    base = new URL(values.url);
  } catch {
    throw new CliError(`load: --url is not a valid URL: '${values.url}'`, 2);
  }
  if (base.protocol !== 'http:' && base.protocol !== 'https:') throw new CliError(`load: --url must be http or https, got '${base.protocol}'`, 2);
  const runnerNames = (values.runner ?? 'openai').split(',').map((r) => r.trim()) as Array<(typeof RUNNERS)[number]>;
  for (const r of runnerNames) if (!RUNNERS.includes(r)) throw new CliError(`load: --runner must be one of ${RUNNERS.join(', ')} (or a comma-separated list), got '${r}'`, 2);
  const runnerName = runnerNames.join(',');
  const api = values.api ?? (runnerNames.every((r) => r === 'anthropic') ? 'messages' : 'chat');
  for (const r of runnerNames) if (!RUNNER_APIS[r].includes(api)) throw new CliError(`load: runner '${r}' does not speak --api '${api}' (${RUNNER_APIS[r].join(', ')})`, 2);
  if (values.rate !== undefined && values.concurrency !== undefined) throw new CliError('load: give either --rate (open loop) or --concurrency (closed loop), not both', 2);
  const rate = numberOption('load', 'rate', values.rate, 0, { min: 0.001 });
  const concurrency = numberOption('load', 'concurrency', values.concurrency, 4, { min: 1, integer: true });
  const count = numberOption('load', 'count', values.count, 100, { min: 1, integer: true });
  const durationS = numberOption('load', 'duration', values.duration, 60, { min: 0.1 });
  const maxInFlight = numberOption('load', 'max-in-flight', values['max-in-flight'], 1000, { min: 1, integer: true });
  const maxTokens = numberOption('load', 'max-tokens', values['max-tokens'], 64, { min: 1, integer: true });
  const timeoutS = numberOption('load', 'timeout', values.timeout, 60, { min: 0.1 });
  const maxRetries = numberOption('load', 'max-retries', values['max-retries'], 0, { min: 0, integer: true });
  const arrivals = values.arrivals ?? 'uniform';
  if (arrivals !== 'uniform' && arrivals !== 'poisson') throw new CliError(`load: --arrivals must be uniform or poisson, got '${arrivals}'`, 2);
  if (values.ca && !existsSync(values.ca)) throw new CliError(`load: --ca file not found: ${values.ca}`, 2);
  const model = values.model ?? (api === 'messages' ? 'claude-sonnet-4-5' : api === 'embeddings' ? 'text-embedding-3-small' : api === 'gemini' ? 'gemini-2.5-flash' : api === 'ollama' ? 'llama3.2' : 'gpt-4o-mini');

  const { JsonlSink } = await import('../../sim/jsonl-sink.ts');
  const { runLoad } = await import('../../load/driver.ts');
  const { newTraceContext, formatTraceparent } = await import('../../sim/traceparent.ts');
  const sink = new JsonlSink(values.out ?? null);
  const threads = Math.min(256, values.rate !== undefined ? maxInFlight : concurrency);
  const runners = await Promise.all(runnerNames.map((r) => makeRunner(r, threads)));
  const runner = runners.length === 1 ? runners[0] : new RoundRobinRunner(runners);
  const baseUrl = values.url.replace(/\/+$/, '');
  const questions = ['What limits the request rate of this service?', 'Explain the latency budget of the search cluster.', 'Which node serves the vector index?', 'Summarise the error budget policy.'];
  const makeSpec = (seq: number) => ({
    seq,
    api: api as import('../../load/types.ts').ApiName,
    baseUrl,
    model,
    stream: !values['no-stream'],
    includeUsage: !values['no-usage'],
    maxTokens,
    prompt: values.prompt ?? `${questions[seq % questions.length]} (request ${seq})`,
    timeoutS,
    maxRetries,
    traceparent: values.traceparent ? formatTraceparent(newTraceContext()) : null,
    caFile: values.ca ?? null,
  });
  const plan = { mode: values.rate !== undefined ? ('open' as const) : ('closed' as const), rate, arrivals: arrivals as 'uniform' | 'poisson', concurrency, count, durationS, maxInFlight };
  const progress = values.quiet
    ? undefined
    : (p: import('../../load/driver.ts').Progress) =>
        process.stderr.write(`[${p.elapsedS.toFixed(1)}s] sent ${p.sent} done ${p.done} ok ${p.ok} errors ${p.errors} in-flight ${p.inFlight}${p.dropped ? ` dropped ${p.dropped}` : ''}\n`);
  let summary;
  const stop = new AbortController();
  const onSignal = () => {
    process.stderr.write('llmslo load: stopping, waiting for requests in flight\n');
    stop.abort();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    summary = await runLoad(plan, runner, makeSpec, (r) => sink.write(r), progress, 1000, stop.signal);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await runner.close();
    const { closeAgents } = await import('../../load/node-http.ts');
    await closeAgents();
    await sink.close();
  }
  const out = { runner: runnerName, api, model, mode: plan.mode, ...summary, truth_dropped: sink.dropped };
  if (values.json) console.log(JSON.stringify(out));
  else {
    console.log(`${runnerName}/${api} ${plan.mode}-loop: ${summary.done} requests in ${summary.elapsedS}s (${summary.throughput_rps}/s), ok ${summary.ok}, errors ${summary.errors}${summary.dropped ? `, dropped ${summary.dropped}` : ''}`);
    if (Object.keys(summary.error_types).length) console.log(`  errors: ${Object.entries(summary.error_types).map(([k, v]) => `${k}=${v}`).join(' ')}`);
    if (summary.ttft_ms) console.log(`  ttft ms p50 ${summary.ttft_ms.p50} p90 ${summary.ttft_ms.p90} p99 ${summary.ttft_ms.p99}`);
    if (summary.duration_ms) console.log(`  duration ms p50 ${summary.duration_ms.p50} p90 ${summary.duration_ms.p90} p99 ${summary.duration_ms.p99}`);
  }
  return 0;
}
