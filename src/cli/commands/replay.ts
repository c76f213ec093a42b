// `llmslo replay`: feeds a recording through the same decoding pipeline as live capture.
import { parseCommandArgs } from '../args.ts';
import { CliError } from '../errors.ts';
import { CapturePipeline } from '../../capture/pipeline.ts';
import { formatRaw, formatStream, rawToJson, streamToJson } from '../../capture/printer.ts';
import { readRecording, readRecordingHeader, RecordingError } from '../../capture/recording.ts';
import type { ProcessInfo } from '../../capture/processes.ts';
import { ProcessCache } from '../../capture/processes.ts';
import { clockMapper } from '../../capture/pipeline.ts';
import { createCallPipeline } from '../../llm/pipeline.ts';
import type { StreamSink } from '../../capture/stream.ts';

const HELP = `usage: llmslo replay FILE [--calls] [--raw] [--json] [--summary]

Decodes a recording made by \`llmslo record\` exactly as live capture would.
  --calls     print LLM and retrieval call records (JSONL, the llmslo.*_call/v1 schemas)
  --raw       print kernel records instead of assembled stream events
  --json      one JSON object per line
  --summary   print only the closing counts`;

export async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs('replay', argv, {
    calls: { type: 'boolean' },
    raw: { type: 'boolean' },
    json: { type: 'boolean' },
    summary: { type: 'boolean' },
  }, true);
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  if (positionals.length !== 1) throw new CliError('replay: exactly one recording FILE is required', 2);
  const file = positionals[0];
  const out = (line: string) => process.stdout.write(`${line}\n`);
  let header;
  try {
    header = readRecordingHeader(file);
  } catch (err) {
    if (err instanceof RecordingError) throw new CliError(`replay: ${err.message}`);
    throw err;
  }
  // Replays never read this machine's /proc: process names come from the recording.
  const procs = new ProcessCache(16384, null);
  const quiet = values.summary;
  let streamEvents = 0;
  let callRecords = 0;
  // --calls: the protocol layer turns the stream into call records, timed by the recording's clock.
  const callSink = values.calls
    ? createCallPipeline({ clock: clockMapper(header.monoNsAtStart, header.wallMsAtStart), resolveComm: (pid) => procs.get(pid).comm }, (rec) => {
        callRecords++;
        if (!quiet) out(JSON.stringify(rec));
      })
    : null;
  const printer: StreamSink = {
    onEvent: (ev) => {
      streamEvents++;
      if (values.raw || quiet) return;
      if (values.json) out(streamToJson(ev));
      else out(formatStream(ev));
    },
    flush: () => {},
  };
  const pipeline = new CapturePipeline({
    payloadCap: header.payloadCap,
    processes: procs,
    onRaw: values.raw && !quiet ? (ev) => out(values.json ? JSON.stringify(rawToJson(ev)) : formatRaw(ev, procs)) : undefined,
    sink: callSink
      ? { onEvent: (ev) => { streamEvents++; callSink.onEvent(ev); }, flush: (now) => callSink.flush(now) }
      : printer,
  });
  let error: string | null = null;
  let frames = 0;
  try {
    frames = readRecording(file, {
      onBatch: (b) => pipeline.feedBatch(b),
      onMeta: (m) => {
        const procsMeta = (m as { processes?: ProcessInfo[] }).processes;
        if (Array.isArray(procsMeta)) procs.seed(procsMeta.filter((p) => p && typeof p.pid === 'number'));
      },
    }).frames;
  } catch (err) {
    if (!(err instanceof RecordingError)) throw err;
    error = err.message;
  }
  pipeline.flush(Math.max(header.monoNsAtStart, pipeline.assembler.latestTs));
  const d = pipeline.decoder;
  console.error(`llmslo: replayed ${frames} frames, ${d.records} records (${d.badRecords} undecodable, ${d.unknownTypes} unknown), ${streamEvents} stream events, ${pipeline.assembler.stats.chunks} chunks${callSink ? `, ${callRecords} call records` : ''}`);
  if (error) throw new CliError(`replay: ${error}`);
  return 0;
}
