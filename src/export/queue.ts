// A bounded batching queue in front of an exporter (spans, logs). At most `maxQueue` items wait
// and one batch is in flight; when the queue is full new items are dropped and counted. The
// exporter's own transport retries transient failures (429/502/503/504, network errors) a
// bounded number of times within its timeout; what still fails is counted, never re-queued.

export interface QueueCounters {
  enqueued: number;
  exported: number;
  failed: number;
  droppedQueueFull: number;
  droppedShutdown: number;
  batches: number;
  failedBatches: number;
}

export interface BoundedQueueOptions {
  maxQueue?: number;
  maxBatch?: number;
  /** How long a partial batch may wait before it is sent. */
  delayMs?: number;
}

export type ExportBatch<T> = (items: T[]) => Promise<boolean>;

export class BoundedExportQueue<T> {
  readonly counters: QueueCounters = { enqueued: 0, exported: 0, failed: 0, droppedQueueFull: 0, droppedShutdown: 0, batches: 0, failedBatches: 0 };
  private items: T[] = [];
  private inFlight: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private closed = false;
  readonly maxQueue: number;
  private readonly maxBatch: number;
  private readonly delayMs: number;

  constructor(
    private readonly exportBatch: ExportBatch<T>,
    opts: BoundedQueueOptions = {},
  ) {
    this.maxQueue = opts.maxQueue ?? 2048;
    this.maxBatch = Math.min(opts.maxBatch ?? 512, this.maxQueue);
    this.delayMs = opts.delayMs ?? 1000;
  }

  get length(): number {
    return this.items.length;
  }

  push(item: T): void {
    if (this.closed) {
      this.counters.droppedShutdown++;
      return;
    }
    if (this.items.length >= this.maxQueue) {
      this.counters.droppedQueueFull++;
      return;
    }
    this.items.push(item);
    this.counters.enqueued++;
    if (this.items.length >= this.maxBatch) this.kick();
    else if (!this.timer) {
      this.timer = setTimeout(() => {
        this.timer = null;
        this.kick();
      }, this.delayMs);
      this.timer.unref();
    }
  }

  private kick(): void {
    if (this.inFlight || this.items.length === 0) return;
    const batch = this.items.splice(0, this.maxBatch);
    this.counters.batches++;
    this.inFlight = this.exportBatch(batch)
      .catch(() => false)
      .then((ok) => {
        if (ok) this.counters.exported += batch.length;
        else {
          this.counters.failed += batch.length;
          this.counters.failedBatches++;
        }
        this.inFlight = null;
        if (this.items.length >= this.maxBatch || (this.closed && this.items.length)) this.kick();
        else if (this.items.length && !this.timer) {
          this.timer = setTimeout(() => {
            this.timer = null;
            this.kick();
          }, this.delayMs);
          this.timer.unref();
        }
      });
  }

  /** Sends everything queued now and waits for it (bounded by the exporter's timeout per batch). */
  async flush(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    for (let guard = 0; guard < 1 + Math.ceil(this.maxQueue / this.maxBatch); guard++) {
      if (this.inFlight) await this.inFlight;
      if (!this.items.length) break;
      this.kick();
    }
    if (this.inFlight) await this.inFlight;
  }

  /** Flushes, then refuses (and counts) further items. Anything left unsent is counted as dropped. */
  async close(): Promise<void> {
    await this.flush();
    this.closed = true;
    this.counters.droppedShutdown += this.items.length;
    this.items = [];
  }
}
