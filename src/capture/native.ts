// Typed access to the native loader addon (native/src/addon.cc).
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface LoaderOpenOptions {
  agentTgid?: number;
  payloadCap?: number;
  captureAll?: boolean | number;
  ringBytes?: number;
  /** Bytes waiting in the ring before the kernel wakes the consumer (below: periodic drain). */
  wakeupBytes?: number;
  /** 1: the programs consult the excluded-cgroups set (filled by setSkippedCgroups). */
  skipCgroups?: number;
}

export interface LoaderStats {
  kernel: number[];
  records: number;
  bytes: number;
  batches: number;
  wakeups: number;
  timerDrains: number;
  budgetStops: number;
  links: number;
  callbackErrors: number;
  lastCallbackError: string;
}

export interface NativeLoader {
  open(opts: LoaderOpenOptions): void;
  programs(): Array<{ name: string; section: string }>;
  attach(program: string): number;
  /** `func` is a symbol name or a file offset. */
  attachUprobe(program: string, binaryPath: string, func: string | number, retprobe: boolean, cookie: number): number;
  detachLink(id: number): boolean;
  setCapturePorts(ports: number[]): void;
  /** Replaces the set of cgroup v2 ids whose tasks are not captured; returns its size. */
  setSkippedCgroups(ids: number[]): number;
  /**
   * No more payload records for this connection id (TCP events still come); `sizesOnly`: one
   * payload-less record per message still tells its size and time. False on a map error.
   */
  muteConnection(connId: number, sizesOnly?: boolean): boolean;
  /** Forgets a muted connection (it closed); false when it was not muted. */
  unmuteConnection(connId: number): boolean;
  /** drainIntervalMs: the loader's own periodic drain (default 20; 0: none, the caller drains). */
  start(onBatch: (batch: Buffer) => void, opts?: { drainIntervalMs?: number }): void;
  drain(): number;
  stats(): LoaderStats;
  programStats(): Record<string, { runCount: number; runTimeNs: number }>;
  enableRunTimeStats(): void;
  close(): void;
}

interface NativeModule {
  Loader: new () => NativeLoader;
  eventsVersion: number;
  libbpfVersion: string;
  takeLibbpfLog(): string;
  /** mallopt(M_MMAP_THRESHOLD): allocations of at least `bytes` are mapped and unmapped on free. */
  setMallocMmapThreshold(bytes: number): boolean;
}

const repoRoot = resolve(fileURLToPath(new URL('.', import.meta.url)), '../..');
export const addonPath = join(repoRoot, 'native', 'build', 'Release', 'llmslo_native.node');

let cached: NativeModule | null = null;

/** Loads the addon; throws a one-line error naming the fix when it was not built. */
export function loadNative(): NativeModule {
  if (cached) return cached;
  if (!existsSync(addonPath)) {
    throw new Error(`native loader not built (${addonPath} missing): run scripts/setup.sh`);
  }
  const require = createRequire(import.meta.url);
  cached = require(addonPath) as NativeModule;
  return cached;
}
