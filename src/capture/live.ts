// Live kernel capture: loads the eBPF object through the native loader, attaches the probes
// (required ones must succeed, optional ones are reported), discovers TLS targets, and hands raw
// record batches to listeners (the decoder pipeline, a recorder, or both).
import { cgroup2Mount, cgroupPathProblem, resolveCgroups } from './cgroups.ts';
import { environmentChecks, ensureMounts } from './environment.ts';
import { EventType, KernelStatNames, Layout, TcpState } from './layout.ts';
import { loadNative, type LoaderStats, type NativeLoader } from './native.ts';
import { TRACEPOINT_PROBES } from './probes.ts';
import { TlsTargets } from './tls-targets.ts';

export interface LiveCaptureOptions {
  /** Max payload bytes captured per message (default 16 KiB, max 256 KiB). */
  payloadCap?: number;
  /** Ship payloads of every TCP connection, not only HTTP-looking ones. */
  captureAll?: boolean;
  /** Ring buffer size in bytes (power of two, default 16 MiB). */
  ringBytes?: number;
  /** Extra ports whose connections always ship payloads. */
  capturePorts?: number[];
  /** Attach TLS uprobes (default true). */
  tls?: boolean;
  tlsRescanIntervalMs?: number;
  /**
   * Period of the drain that collects records below the kernel's wake-up threshold, and of the
   * ticks that move time forward (default 100 ms): records wait at most this long.
   */
  drainIntervalMs?: number;
  /**
   * Bytes waiting in the ring before the kernel wakes the agent (default: a sixteenth of the
   * ring, at most 256 KiB); the rest of the ring is the headroom for bursts while a batch is
   * processed.
   */
  wakeupBytes?: number;
  /**
   * Cgroup v2 paths (e.g. `/kubepods.slice/...`, `/system.slice/x.service`) whose tasks, and
   * their descendants', are not captured; resolved again every `excludeRescanIntervalMs`
   * (default 10 s) so pods started later are excluded too.
   */
  excludeCgroups?: string[];
  excludeRescanIntervalMs?: number;
  log?: (msg: string) => void;
}

export interface ProbeStatus {
  program: string;
  required: boolean;
  purpose: string;
  ok: boolean;
  error?: string;
}

export class CaptureError extends Error {
  override name = 'CaptureError';
}

export const DEFAULT_PAYLOAD_CAP = 16 * 1024;
export const MAX_PAYLOAD_CAP = 256 * 1024;
export const DEFAULT_DRAIN_INTERVAL_MS = 100;
/** The kernel's muted_conns map size (LLMSLO_MAX_MUTED_CONNS, checked by the layout test). */
export const MAX_MUTED_CONNS = 65536;

/**
 * A sixteenth of the ring, at most 256 KiB: the rest stays free for bursts, and batches stay
 * small (512 KiB-1 MiB thresholds gave no measurable CPU gain at saturation in alternating
 * A/Bs, and a peak RSS up to 17 MB higher in some runs).
 */
export function defaultWakeupBytes(ringBytes: number): number {
  return Math.min(ringBytes / 16, 256 * 1024);
}

export class LiveCapture {
  readonly probes: ProbeStatus[] = [];
  readonly tls: TlsTargets | null;
  private readonly listeners: Array<(batch: Buffer) => void> = [];
  private closed = false;
  private readonly tickListeners: Array<(nowNs: number) => void> = [];
  private tickTimer: NodeJS.Timeout | null = null;
  private lastErrorLog = 0;
  listenerErrors = 0;
  /** Cgroup ids currently excluded in the kernel (capture.exclude_cgroups). */
  excludedCgroups = 0;
  private excludeTimer: NodeJS.Timeout | null = null;
  private excludeReport: string | null = null;
  /** Connections muted in the kernel, oldest first, until their TCP close is seen. */
  private readonly muted = new Set<number>();
  private muteFailureSaid = false;

  private constructor(
    private readonly loader: NativeLoader,
    private readonly opts: LiveCaptureOptions,
    /** The cgroup v2 mount the excluded paths live under; null when nothing is excluded. */
    private readonly cgroupRoot: string | null,
  ) {
    this.tls = opts.tls === false ? null : new TlsTargets(loader, { rescanIntervalMs: opts.tlsRescanIntervalMs, log: opts.log });
  }

  /** Checks the host, loads and attaches. Throws CaptureError with a one-line reason. */
  static open(opts: LiveCaptureOptions = {}): LiveCapture {
    const mountProblems = ensureMounts();
    const failing = environmentChecks().find((c) => !c.ok);
    if (failing) throw new CaptureError(`${failing.name}: ${failing.detail}`);
    if (mountProblems.length) throw new CaptureError(mountProblems[0]);
    const cap = opts.payloadCap ?? DEFAULT_PAYLOAD_CAP;
    if (!Number.isInteger(cap) || cap < 64 || cap > MAX_PAYLOAD_CAP) {
      throw new CaptureError(`payload cap must be an integer between 64 and ${MAX_PAYLOAD_CAP}, got ${cap}`);
    }
    const ring = opts.ringBytes ?? 16 * 1024 * 1024;
    if (!Number.isInteger(ring) || ring < 4096 || (ring & (ring - 1)) !== 0) {
      throw new CaptureError(`ring buffer size must be a power of two >= 4096, got ${ring}`);
    }
    let native;
    try {
      native = loadNative();
    } catch (err) {
      throw new CaptureError(err instanceof Error ? err.message : String(err));
    }
    // Batch buffers (the wake-up threshold's size, typically 256 KiB; freed by V8's GC) are mapped,
    // not carved from a heap that fragments and stays resident (addon.cc): ~9 MB less peak RSS
    // under load in the overhead bench (139-140 vs 146-149 MB, three agents each), CPU within noise.
    native.setMallocMmapThreshold(128 * 1024);
    const wakeup = opts.wakeupBytes ?? defaultWakeupBytes(ring);
    if (!Number.isInteger(wakeup) || wakeup < 1 || wakeup > ring / 2) {
      throw new CaptureError(`ring wake-up threshold must be an integer between 1 and half the ring (${ring / 2} bytes), got ${wakeup}`);
    }
    const drainMs = opts.drainIntervalMs ?? DEFAULT_DRAIN_INTERVAL_MS;
    if (!Number.isInteger(drainMs) || drainMs < 1 || drainMs > 10_000) {
      throw new CaptureError(`drain interval must be an integer between 1 and 10000 ms, got ${drainMs}`);
    }
    const exclude = opts.excludeCgroups ?? [];
    for (const p of exclude) {
      const problem = cgroupPathProblem(p);
      if (problem) throw new CaptureError(`excluded cgroup ${problem}`);
    }
    const cgroupRoot = exclude.length ? cgroup2Mount() : null;
    if (exclude.length && cgroupRoot === null) throw new CaptureError('excluding cgroups needs the cgroup v2 hierarchy, and none is mounted');
    const loader = new native.Loader();
    try {
      loader.open({ agentTgid: process.pid, payloadCap: cap, captureAll: opts.captureAll ? 1 : 0, ringBytes: ring, wakeupBytes: wakeup, skipCgroups: exclude.length ? 1 : 0 });
    } catch (err) {
      const log = native.takeLibbpfLog().trim().split('\n').filter(Boolean).slice(-3).join(' | ');
      throw new CaptureError(`${err instanceof Error ? err.message : String(err)}${log ? `: ${log.slice(0, 400)}` : ''}`);
    }
    const capture = new LiveCapture(loader, { ...opts, drainIntervalMs: drainMs }, cgroupRoot);
    try {
      capture.attachAll();
      if (opts.capturePorts?.length) loader.setCapturePorts(opts.capturePorts);
      // before the first record: an excluded process is never seen
      if (exclude.length) capture.refreshExcludedCgroups();
    } catch (err) {
      loader.close();
      throw err;
    }
    return capture;
  }

  private attachAll(): void {
    for (const p of TRACEPOINT_PROBES) {
      try {
        this.loader.attach(p.program);
        this.probes.push({ ...p, ok: true });
      } catch (err) {
        const error = err instanceof Error ? err.message : String(err);
        this.probes.push({ ...p, ok: false, error });
        if (p.required) throw new CaptureError(`required probe ${p.program} (${p.purpose}) failed to attach: ${error}`);
        this.opts.log?.(`optional probe ${p.program} not attached (${p.purpose} unavailable): ${error}`);
      }
    }
  }

  onBatch(listener: (batch: Buffer) => void): void {
    this.listeners.push(listener);
  }

  /**
   * Called every drain interval, right after the periodic drain, with the kernel clock: lets
   * consumers move time forward when no records arrive (e.g. CapturePipeline.tick).
   */
  onTick(listener: (nowNs: number) => void): void {
    this.tickListeners.push(listener);
  }

  /** Starts consuming the ring buffer and discovering TLS targets. */
  start(): void {
    // The kernel wakes us once `wakeupBytes` wait; one periodic timer collects what is below that
    // (and covers libbpf's known missed-wake-up race), then ticks. Each wake-up that finds work
    // costs extra CPU (the same batches fed every 50 ms instead of back to back: ~1-3 ms more per
    // wake-up on this 2-vCPU VM, bench/parser/replay.ts --pace-ms), so there is one timer, not
    // the loader's own as well.
    this.loader.start((batch) => this.dispatch(batch), { drainIntervalMs: 0 });
    this.tickTimer = setInterval(() => {
      if (this.closed) return;
      this.drain();
      if (this.tickListeners.length === 0) return;
      const now = Number(process.hrtime.bigint());
      for (const l of this.tickListeners) l(now);
    }, this.opts.drainIntervalMs);
    this.tickTimer.unref();
    this.tls?.start();
    if (this.cgroupRoot !== null) {
      this.excludeTimer = setInterval(() => this.refreshExcludedCgroups(), this.opts.excludeRescanIntervalMs ?? 10_000);
      this.excludeTimer.unref();
    }
  }

  /** Resolves the excluded cgroup paths again and hands the ids to the kernel. */
  refreshExcludedCgroups(): void {
    if (this.closed || this.cgroupRoot === null) return;
    const r = resolveCgroups(this.cgroupRoot, this.opts.excludeCgroups ?? []);
    try {
      this.excludedCgroups = this.loader.setSkippedCgroups(r.ids);
    } catch (err) {
      this.opts.log?.(`capture: excluding cgroups failed: ${err instanceof Error ? err.message : String(err)}`);
      return;
    }
    // said at the first resolution and when a path appears, disappears or overflows, not every rescan
    const report = `${r.missing.length ? `; not found (yet): ${r.missing.join(', ')}` : ''}${r.truncated ? `; more than ${r.ids.length} cgroups: the rest are captured` : ''}`;
    if (report !== this.excludeReport) {
      this.excludeReport = report;
      this.opts.log?.(`capture: excluding ${r.ids.length} cgroup(s) under ${this.cgroupRoot}${report}`);
    }
  }

  /**
   * No more payload records for this connection (its TCP events still come): for connections
   * whose bytes the consumer drops anyway (`drop`), or of which it needs only each transfer's
   * size and time (`sizes`: the data events then carry no bytes, all of them missing). Undone by
   * itself when the connection closes.
   */
  muteConnection(connId: number, keep: 'drop' | 'sizes' = 'drop'): void {
    if (this.closed || this.muted.has(connId)) return;
    if (this.muted.size >= MAX_MUTED_CONNS) {
      // closes missed (lost records): forget the oldest rather than grow
      const oldest = this.muted.values().next().value as number;
      this.muted.delete(oldest);
      this.loader.unmuteConnection(oldest);
    }
    if (this.loader.muteConnection(connId, keep === 'sizes')) this.muted.add(connId);
    else if (!this.muteFailureSaid) {
      // harmless (the consumer drops the bytes anyway), and systemic when it happens: said once
      this.muteFailureSaid = true;
      this.opts.log?.('capture: the kernel refused to mute a connection; its payloads keep coming and are dropped in user space');
    }
  }

  /** Connections muted now. */
  get mutedConnections(): number {
    return this.muted.size;
  }

  private dispatch(batch: Buffer): void {
    const muting = this.muted.size > 0;
    if (this.tls || muting) {
      // A header-only walk, no full decode: new processes may bring new TLS targets, and a
      // muted connection's close ends its mute (its id is never reused).
      for (let off = 0; off + Layout.hdr.size <= batch.length; ) {
        const size = batch.readUInt32LE(off + Layout.hdr.recordSize);
        if (size < Layout.hdr.size) break;
        const type = batch.readUInt16LE(off);
        if (type === EventType.exec) this.tls?.onExec(batch.readUInt32LE(off + Layout.hdr.pid));
        else if (muting && type === EventType.conn && size >= Layout.conn.size && batch[off + Layout.conn.newState] === TcpState.close) {
          const id = Number(batch.readBigUInt64LE(off + Layout.conn.connId));
          if (this.muted.delete(id)) this.loader.unmuteConnection(id);
        }
        off += (size + 7) & ~7;
      }
    }
    for (const l of this.listeners) {
      try {
        l(batch);
      } catch (err) {
        // A bug downstream must not stop capture: count it, say it once in a while.
        this.listenerErrors++;
        const now = Date.now();
        if (now - this.lastErrorLog > 60_000) {
          this.lastErrorLog = now;
          this.opts.log?.(`capture: a batch listener failed (${this.listenerErrors} so far): ${err instanceof Error ? err.message : String(err)}`);
        }
      }
    }
  }

  /** Synchronously delivers whatever is in the ring now. */
  drain(): number {
    return this.closed ? 0 : this.loader.drain();
  }

  stats(): LoaderStats & { kernelByName: Record<string, number> } {
    const s = this.loader.stats();
    const kernelByName: Record<string, number> = {};
    KernelStatNames.forEach((n, i) => (kernelByName[n] = s.kernel[i] ?? 0));
    return { ...s, kernelByName };
  }

  programStats(): Record<string, { runCount: number; runTimeNs: number }> {
    return this.loader.programStats();
  }

  enableRunTimeStats(): void {
    this.loader.enableRunTimeStats();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.tickTimer) clearInterval(this.tickTimer);
    if (this.excludeTimer) clearInterval(this.excludeTimer);
    this.tls?.close();
    this.loader.close();
  }
}
