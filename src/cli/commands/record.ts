// `llmslo record`: the raw kernel record stream to a file, for replay without root.
import { hostname, release } from 'node:os';
import { parseCommandArgs, numberOption } from '../args.ts';
import { CliError } from '../errors.ts';
import { CaptureError, LiveCapture } from '../../capture/live.ts';
import { monotonicNowNs } from '../../capture/pipeline.ts';
import { decodeBatch, newDecoderStats } from '../../capture/decoder.ts';
import { ProcessCache } from '../../capture/processes.ts';
import { RecordingWriter } from '../../capture/recording.ts';
import { captureOptionSpec, liveOptionsFrom } from './capture-options.ts';
import { waitForStop } from '../signals.ts';

const HELP = `usage: llmslo record --out FILE [--duration S] [capture options]

Writes every kernel record batch to FILE (versioned header, checksummed frames), plus
snapshots of the processes seen, so \`llmslo replay FILE\` reproduces the capture.

  --out FILE       recording to write (required)
  --duration S     stop after S seconds (default: until Ctrl-C)
${captureOptionSpec.help}`;

export async function main(argv: string[]): Promise<number> {
  const { values } = parseCommandArgs('record', argv, {
    out: { type: 'string', short: 'o' },
    duration: { type: 'string' },
    ...captureOptionSpec.options,
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  if (!values.out) throw new CliError('record: --out FILE is required', 2);
  const duration = numberOption('record', 'duration', values.duration, 0, { min: 0 });
  const liveOpts = liveOptionsFrom('record', values);
  let capture: LiveCapture;
  try {
    capture = LiveCapture.open({ ...liveOpts, log: (m) => console.error(`llmslo: ${m}`) });
  } catch (err) {
    if (err instanceof CaptureError) throw new CliError(`record: ${err.message}`);
    throw err;
  }
  const wallMsAtStart = Date.now();
  const monoNsAtStart = monotonicNowNs();
  let writer: RecordingWriter;
  try {
    writer = new RecordingWriter(values.out, {
      created: new Date(wallMsAtStart).toISOString(),
      monoNsAtStart,
      wallMsAtStart,
      hostname: hostname(),
      kernel: release(),
      payloadCap: liveOpts.payloadCap!,
      tool: 'llmslo 0.1.0',
    });
  } catch (err) {
    capture.close();
    throw new CliError(`record: cannot write ${values.out}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  // Remember the processes seen, so replays can name them after they are gone.
  const procs = new ProcessCache();
  const seenPids = new Set<number>();
  const stats = newDecoderStats();
  capture.onBatch((batch) => {
    writer.writeBatch(batch);
    decodeBatch(batch, (ev) => {
      if (ev.type === 'data' && !seenPids.has(ev.pid)) {
        seenPids.add(ev.pid);
        writer.writeMeta({ processes: [procs.get(ev.pid)] });
      }
    }, stats);
  });
  capture.start();
  console.error(`llmslo: recording to ${values.out}${duration ? ` for ${duration}s` : ''}; Ctrl-C to stop`);
  await waitForStop(duration);
  capture.drain();
  const s = capture.stats();
  writer.writeMeta({ final: { records: s.records, kernel: s.kernelByName } });
  writer.close();
  capture.close();
  console.error(`llmslo: wrote ${writer.frames} frames, ${writer.bytes} bytes, ${s.records} records (${s.kernelByName.ringbuf_drops} lost in kernel)`);
  return 0;
}
