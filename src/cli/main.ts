// llmslo command-line entry point. Each subcommand lives in its own module under
// src/cli/commands/ and is loaded on demand, so `llmslo slo lint` never pays for loading
// the eBPF addon and a broken optional module cannot take down unrelated commands.
import { CliError } from './errors.ts';

interface CommandEntry {
  summary: string;
  load: () => Promise<{ main: (argv: string[]) => Promise<number> }>;
}

const commands: Record<string, CommandEntry> = {
  run: { summary: 'run the node agent (capture -> calls -> Prometheus, OTLP, JSONL, SLOs)', load: () => import('./commands/run.ts') },
  demo: { summary: 'live demo: simulated provider, real clients, eBPF capture, per-model SLIs', load: () => import('./commands/demo.ts') },
  capture: { summary: 'print decoded kernel events live (debugging)', load: () => import('./commands/capture.ts') },
  record: { summary: 'record the raw kernel event stream to a file', load: () => import('./commands/record.ts') },
  replay: { summary: 'feed a recording through the decoding pipeline', load: () => import('./commands/replay.ts') },
  doctor: { summary: 'check kernel, BTF, mounts, capabilities, probes and TLS targets', load: () => import('./commands/doctor.ts') },
  sim: { summary: 'simulated LLM provider, vector DB and RAG app', load: () => import('./commands/sim.ts') },
  load: { summary: 'bounded load generator with real SDK clients', load: () => import('./commands/load.ts') },
  slo: { summary: 'SLO tooling: lint, rules, status', load: () => import('./commands/slo.ts') },
};

function usage(): string {
  const lines = ['usage: llmslo <command> [options]', '', 'commands:'];
  for (const [name, c] of Object.entries(commands)) lines.push(`  ${name.padEnd(9)} ${c.summary}`);
  lines.push('', 'Run `llmslo <command> --help` for a command\'s options.');
  return lines.join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(usage());
    return name ? 0 : 2;
  }
  const entry = commands[name];
  if (!entry) {
    console.error(`llmslo: unknown command '${name}'\n\n${usage()}`);
    return 2;
  }
  let mod: { main: (argv: string[]) => Promise<number> };
  try {
    mod = await entry.load();
  } catch (err) {
    if (err instanceof Error && 'code' in err && err.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes(`commands/${name}.`)) {
      console.error(`llmslo: command '${name}' is not available in this build`);
      return 2;
    }
    throw err;
  }
  return mod.main(rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof CliError) {
      console.error(`llmslo: ${err.message}`);
      process.exitCode = err.exitCode;
    } else {
      console.error(`llmslo: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      process.exitCode = 70;
    }
  },
);
