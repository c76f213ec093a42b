// The one decoding path shared by live capture and replay: record batches -> decoded records ->
// per-connection stream events for a StreamSink.
import { StreamAssembler, type AssemblerOptions } from './assembler.ts';
import { decodeBatch, newDecoderStats, type DecoderStats, type RawEvent, type SizesHandler } from './decoder.ts';
import { ProcessCache } from './processes.ts';
import type { StreamSink } from './stream.ts';

export interface PipelineOptions extends Omit<AssemblerOptions, 'processes'> {
  sink: StreamSink;
  /** Every decoded record, before assembly (debug printers, signals). */
  onRaw?: (ev: RawEvent) => void;
  /** Filter: only records of this process (tgid). */
  pid?: number;
  processes?: ProcessCache;
}

export class CapturePipeline {
  readonly decoder: DecoderStats = newDecoderStats();
  readonly assembler: StreamAssembler;
  readonly processes: ProcessCache;
  private readonly handle: (ev: RawEvent) => void;
  /** Sizes-only records straight to the assembler (none when records are filtered or watched). */
  private readonly sizes: SizesHandler | undefined;

  constructor(private readonly opts: PipelineOptions) {
    this.processes = opts.processes ?? new ProcessCache();
    this.assembler = new StreamAssembler(opts.sink, { ...opts, processes: this.processes });
    const { onRaw, pid } = opts;
    const asm = this.assembler;
    this.handle = (ev) => {
      if (pid !== undefined && ev.pid !== pid && ev.type !== 'exec' && ev.type !== 'exit') return;
      onRaw?.(ev);
      asm.onEvent(ev);
    };
    this.sizes = pid === undefined && onRaw === undefined ? (connId, dir, bytes, ts) => asm.onSizes(connId, dir, bytes, ts) : undefined;
  }

  feedBatch(batch: Buffer): void {
    decodeBatch(batch, this.handle, this.decoder, this.sizes);
  }

  flush(nowNs: number): void {
    this.assembler.flush(nowNs);
  }

  /** Lets kernel time pass with no records (see StreamAssembler.tick). */
  tick(nowNs: number): void {
    this.assembler.tick(nowNs);
  }
}

/** Kernel monotonic clock in ns, as bpf_ktime_get_ns() reports it (Node's hrtime is CLOCK_MONOTONIC). */
export function monotonicNowNs(): number {
  return Number(process.hrtime.bigint());
}

/** Maps kernel monotonic ns to epoch ms, from one paired sample of both clocks. */
export function clockMapper(monoNsAtStart: number, wallMsAtStart: number): (monoNs: number) => number {
  return (monoNs) => wallMsAtStart + (monoNs - monoNsAtStart) / 1e6;
}
