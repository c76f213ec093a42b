// `llmslo run`: the node agent. Runs until SIGINT/SIGTERM, then flushes and exits cleanly.
import { parseCommandArgs } from '../args.ts';
import { CliError } from '../errors.ts';
import { waitForStop } from '../signals.ts';
import { Agent } from '../../agent/agent.ts';
import { ConfigError, loadConfig } from '../../agent/config.ts';
import { CaptureError } from '../../capture/live.ts';
import { SloSpecError } from '../../slo/runtime.ts';

const HELP = `usage: llmslo run [--config FILE] [--jsonl PATH|-] [--duration S]

Captures LLM API traffic from the kernel and serves GenAI metrics on Prometheus (default
http://127.0.0.1:9464/metrics), exports OTLP when an endpoint is configured
(OTEL_EXPORTER_OTLP_ENDPOINT or outputs.otlp.endpoint) and writes call records as JSONL.
Settings: the YAML file, then LLMSLO_<SECTION>__<KEY> environment overrides (see docs/agent.md).`;

export async function main(argv: string[]): Promise<number> {
  const { values } = parseCommandArgs('run', argv, {
    config: { type: 'string', short: 'c' },
    jsonl: { type: 'string' },
    duration: { type: 'string' },
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  let config;
  try {
    config = loadConfig(values.config ?? null);
  } catch (err) {
    if (err instanceof ConfigError) throw new CliError(`run: ${err.message}`, 2);
    throw err;
  }
  if (values.jsonl) config.outputs.jsonl.path = values.jsonl;
  const duration = values.duration === undefined ? 0 : Number(values.duration);
  if (!Number.isFinite(duration) || duration < 0) throw new CliError(`run: --duration must be a number >= 0, got '${values.duration}'`, 2);
  const agent = new Agent({ config, log: (m) => process.stderr.write(`llmslo: ${m}\n`) });
  try {
    await agent.start();
  } catch (err) {
    await agent.stop().catch(() => {});
    if (err instanceof CaptureError) throw new CliError(`run: ${err.message}`);
    if (err instanceof SloSpecError) throw new CliError(`run: ${err.problems[0]}${err.problems.length > 1 ? ` (+${err.problems.length - 1} more)` : ''}`);
    if (err instanceof Error && 'code' in err && err.code === 'EADDRINUSE') throw new CliError(`run: Prometheus listen address ${config.outputs.prometheus.listen} is in use`);
    throw err;
  }
  process.stderr.write(`llmslo: agent running${agent.prometheusUrl ? `; metrics at ${agent.prometheusUrl}` : ''}${config.outputs.jsonl.path ? `; records to ${config.outputs.jsonl.path}` : ''}\n`);
  const why = await waitForStop(duration);
  // Flushing is bounded: an output that never answers must not keep the agent from stopping.
  // A second SIGINT/SIGTERM stops at once.
  const stopped = await Promise.race([
    agent.stop().then(() => 'flushed' as const),
    new Promise<'timeout'>((res) => setTimeout(() => res('timeout'), SHUTDOWN_DEADLINE_MS).unref()),
    waitForStop(0).then(() => 'again' as const),
  ]);
  if (stopped !== 'flushed') {
    process.stderr.write(`llmslo: stopped (${why}) after ${agent.records} call records; ${stopped === 'timeout' ? `outputs still flushing after ${SHUTDOWN_DEADLINE_MS / 1000} s` : 'second signal'}, some data may not have been exported\n`);
    // the hung output's sockets would keep the process alive
    process.exit(1);
  }
  process.stderr.write(`llmslo: stopped (${why}) after ${agent.records} call records\n`);
  return 0;
}

/** How long outputs may take to flush on shutdown (OTLP exports time out after 10 s each). */
const SHUTDOWN_DEADLINE_MS = 25_000;
