// Coalesced timers: every pending wake-up sits in a 1 ms bucket of a min-heap, and a single
// setTimeout is armed for the earliest bucket. 200 concurrent streams ticking every 20 ms
// thus cost one timer per millisecond at most instead of 10 000 setTimeouts a second.
import { monoMs } from './clock.ts';

type Task = () => void;

export class TimerWheel {
  private readonly buckets = new Map<number, Task[]>();
  private readonly heap: number[] = [];
  private armedFor = Infinity;
  private timer: NodeJS.Timeout | null = null;
  private pendingCount = 0;

  get pending(): number {
    return this.pendingCount;
  }

  /** Runs `task` at monotonic time `atMs` (performance.now() scale), or soon after. */
  at(atMs: number, task: Task): void {
    const key = Math.ceil(atMs);
    let bucket = this.buckets.get(key);
    if (!bucket) {
      bucket = [];
      this.buckets.set(key, bucket);
      this.push(key);
    }
    bucket.push(task);
    this.pendingCount++;
    if (key < this.armedFor) this.arm(key);
  }

  /** Resolves at monotonic time `atMs`. */
  until(atMs: number): Promise<void> {
    return new Promise((resolve) => this.at(atMs, resolve));
  }

  sleep(ms: number): Promise<void> {
    return this.until(monoMs() + ms);
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.armedFor = Infinity;
  }

  private arm(key: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.armedFor = key;
    // setTimeout treats anything above 2^31-1 ms as 1 ms: cap it, and re-arm when it fires early.
    const delay = Math.min(0x7fffffff, Math.max(0, key - monoMs()));
    this.timer = setTimeout(() => this.fire(), delay);
  }

  private fire(): void {
    this.timer = null;
    this.armedFor = Infinity;
    const now = monoMs();
    while (this.heap.length > 0 && this.heap[0] <= now + 0.5) {
      const key = this.pop();
      const tasks = this.buckets.get(key) ?? [];
      this.buckets.delete(key);
      this.pendingCount -= tasks.length;
      for (const task of tasks) {
        try {
          task();
        } catch (err) {
          // A failing task must not starve the others in its bucket.
          process.emitWarning(`timer task failed: ${err instanceof Error ? err.message : String(err)}`);
        }
      }
    }
    if (this.heap.length > 0) this.arm(this.heap[0]);
  }

  private push(key: number): void {
    const h = this.heap;
    h.push(key);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (h[p] <= h[i]) break;
      [h[p], h[i]] = [h[i], h[p]];
      i = p;
    }
  }

  private pop(): number {
    const h = this.heap;
    const top = h[0];
    const last = h.pop() as number;
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && h[l] < h[m]) m = l;
        if (r < h.length && h[r] < h[m]) m = r;
        if (m === i) break;
        [h[m], h[i]] = [h[i], h[m]];
        i = m;
      }
    }
    return top;
  }
}
