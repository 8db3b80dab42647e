/**
 * A bounded FIFO queue in front of onnxruntime: at most `concurrency` inferences run at once and
 * at most `maxQueue` wait; beyond that a request is refused with 503 + Retry-After instead of
 * piling up memory. Each job reports how long it waited (timings.queueMs).
 */
import { HttpError } from '../errors';

export interface QueueStats {
  running: number;
  waiting: number;
  concurrency: number;
  maxQueue: number;
  /** Most jobs ever running at once, and most ever waiting (evidence that the bound held). */
  peakRunning: number;
  peakWaiting: number;
}

export class InferenceQueue {
  private running = 0;
  private peakRunning = 0;
  private peakWaiting = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(
    readonly concurrency: number,
    readonly maxQueue: number,
  ) {
    if (!Number.isInteger(concurrency) || concurrency < 1) throw new Error(`InferenceQueue: concurrency must be an integer >= 1, got ${concurrency}`);
    if (!Number.isInteger(maxQueue) || maxQueue < 0) throw new Error(`InferenceQueue: maxQueue must be an integer >= 0, got ${maxQueue}`);
  }

  get stats(): QueueStats {
    return { running: this.running, waiting: this.waiting.length, concurrency: this.concurrency, maxQueue: this.maxQueue, peakRunning: this.peakRunning, peakWaiting: this.peakWaiting };
  }

  /** Runs `job` when a slot is free; resolves with its value and the time spent waiting (ms). */
  async run<T>(job: () => Promise<T>): Promise<{ value: T; queueMs: number }> {
    const t0 = performance.now();
    if (this.running >= this.concurrency) {
      if (this.waiting.length >= this.maxQueue) {
        throw new HttpError(503, 'busy', `inference queue is full (${this.maxQueue} waiting); retry shortly`, undefined, { 'Retry-After': '1' });
      }
      const turn = new Promise<void>((resolve) => this.waiting.push(resolve));
      this.peakWaiting = Math.max(this.peakWaiting, this.waiting.length);
      await turn;
    } else {
      this.running++;
      this.peakRunning = Math.max(this.peakRunning, this.running);
    }
    const queueMs = performance.now() - t0;
    try {
      return { value: await job(), queueMs };
    } finally {
      const next = this.waiting.shift();
      // Hand the slot straight to the next waiter (running stays the same), else free it.
      if (next) next();
      else this.running--;
    }
  }
}
