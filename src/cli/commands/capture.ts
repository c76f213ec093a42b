// `llmslo capture`: decoded kernel events, live, for humans debugging.
import { parseCommandArgs, numberOption } from '../args.ts';
import { CliError } from '../errors.ts';
import { CaptureError, LiveCapture } from '../../capture/live.ts';
import { CapturePipeline, monotonicNowNs } from '../../capture/pipeline.ts';
import { formatRaw, formatStream, rawToJson, streamToJson } from '../../capture/printer.ts';
import { captureOptionSpec, liveOptionsFrom } from './capture-options.ts';
import { waitForStop } from '../signals.ts';

const HELP = `usage: llmslo capture [--pid P] [--json] [--raw] [--duration S] [capture options]

Prints what the kernel probes see. By default: per-connection stream events (open, data, close)
after TLS binding and message assembly. --raw prints every kernel record instead.
Payloads are shown as short escaped previews only.

  --pid P          only this process (tgid)
  --json           one JSON object per line
  --raw            kernel records, not assembled stream events
  --duration S     stop after S seconds (default: until Ctrl-C)
${captureOptionSpec.help}`;

export async function main(argv: string[]): Promise<number> {
  const { values } = parseCommandArgs('capture', argv, {
    pid: { type: 'string' },
    json: { type: 'boolean' },
    raw: { type: 'boolean' },
    duration: { type: 'string' },
    ...captureOptionSpec.options,
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  const pid = values.pid === undefined ? undefined : numberOption('capture', 'pid', values.pid, 0, { min: 1, integer: true });
  const duration = numberOption('capture', 'duration', values.duration, 0, { min: 0 });
  const liveOpts = liveOptionsFrom('capture', values);
  let capture: LiveCapture;
  try {
    capture = LiveCapture.open({ ...liveOpts, log: (m) => console.error(`llmslo: ${m}`) });
  } catch (err) {
    if (err instanceof CaptureError) throw new CliError(`capture: ${err.message}`);
    throw err;
  }
  const out = (line: string) => process.stdout.write(`${line}\n`);
  const pipeline = new CapturePipeline({
    payloadCap: liveOpts.payloadCap!,
    pid,
    onRaw: values.raw ? (ev) => out(values.json ? JSON.stringify(rawToJson(ev)) : formatRaw(ev, pipeline.processes)) : undefined,
    sink: {
      onEvent: (ev) => {
        if (values.raw) return;
        if (values.json) out(streamToJson(ev));
        else out(formatStream(ev));
      },
      flush: () => {},
    },
  });
  capture.onBatch((b) => pipeline.feedBatch(b));
  capture.onTick((now) => pipeline.tick(now));
  capture.start();
  console.error(`llmslo: capturing${pid ? ` pid ${pid}` : ''}; Ctrl-C to stop`);
  await waitForStop(duration);
  capture.drain();
  pipeline.flush(monotonicNowNs());
  const s = capture.stats();
  console.error(`llmslo: ${s.records} records, ${s.kernelByName.ringbuf_drops} lost in kernel, ${pipeline.decoder.badRecords} undecodable`);
  capture.close();
  return 0;
}
