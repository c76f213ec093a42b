// A model server with N slots: requests beyond N wait in a bounded FIFO queue, the way an
// inference server batches up to its capacity and queues the rest.
export class Slots {
  private active = 0;
  private readonly waiting: Array<{ grant: () => void; cancelled: boolean }> = [];

  constructor(
    public capacity: number,
    public maxQueue: number,
  ) {}

  get running(): number {
    return this.active;
  }
  get queued(): number {
    return this.waiting.length;
  }

  /**
   * Returns null when the queue is full; otherwise a promise of the slot and a cancel
   * function for a client that goes away while waiting.
   */
  acquire(): { granted: Promise<void>; cancel: () => void } | null {
    if (this.active < this.capacity) {
      this.active++;
      return { granted: Promise.resolve(), cancel: () => this.release() };
    }
    if (this.waiting.length >= this.maxQueue) return null;
    let entry!: { grant: () => void; cancelled: boolean; got: boolean };
    const granted = new Promise<void>((resolve) => {
      entry = {
        grant: () => {
          entry.got = true;
          resolve();
        },
        cancelled: false,
        got: false,
      };
    });
    this.waiting.push(entry);
    return {
      granted,
      // Gives the slot back if it was granted already, else leaves the queue.
      cancel: () => {
        if (entry.got) this.release();
        else entry.cancelled = true;
      },
    };
  }

  release(): void {
    while (this.waiting.length > 0 && this.active <= this.capacity) {
      const next = this.waiting.shift()!;
      if (next.cancelled) continue;
      next.grant();
      return;
    }
    this.active--;
  }
}
