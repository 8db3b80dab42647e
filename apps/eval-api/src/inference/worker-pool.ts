/**
 * A fixed pool of inference worker threads (ort-worker.mjs). onnxruntime-node executes
 * session.run on the thread that calls it, so running it on the HTTP thread would stall every
 * other request (uploads, /health) for the length of each inference and serialise "parallel"
 * runs. Each worker holds one session per model file, created on first use and reused; the
 * InferenceQueue in front admits at most `size` jobs, so a free worker always exists.
 */
import { Worker } from 'node:worker_threads';

export interface OutputTensor {
  dims: readonly number[];
  data: ArrayLike<number | bigint>;
}

export interface ModelInfo {
  inputs: readonly { name: string; isTensor: boolean; type?: string; shape?: readonly (number | string)[] }[];
  outputNames: readonly string[];
}

interface Pending {
  resolve(v: unknown): void;
  reject(e: Error): void;
}

class PoolWorker {
  private readonly worker: Worker;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private dead: Error | null = null;

  constructor(intraOpThreads: number) {
    this.worker = new Worker(new URL('./ort-worker.mjs', import.meta.url), { workerData: { intraOpThreads } });
    this.worker.unref();
    this.worker.on('message', (m: { id: number; error?: string }) => {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (m.error !== undefined) p.reject(new Error(m.error));
      else p.resolve(m);
    });
    const fail = (e: Error) => {
      this.dead = e;
      for (const p of this.pending.values()) p.reject(e);
      this.pending.clear();
    };
    this.worker.on('error', fail);
    this.worker.on('exit', (code) => fail(new Error(`inference worker exited with code ${code}`)));
  }

  get alive(): boolean {
    return this.dead === null;
  }

  call<T>(msg: Record<string, unknown>, transfer: ArrayBuffer[] = []): Promise<T> {
    if (this.dead) return Promise.reject(this.dead);
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.worker.postMessage({ ...msg, id }, transfer);
    });
  }

  terminate(): Promise<number> {
    return this.worker.terminate();
  }
}

export class InferenceWorkerPool {
  private readonly workers: PoolWorker[];
  private readonly free: PoolWorker[];
  private readonly waiting: ((w: PoolWorker) => void)[] = [];

  constructor(
    readonly size: number,
    private readonly intraOpThreads: number,
  ) {
    if (!Number.isInteger(size) || size < 1) throw new Error(`InferenceWorkerPool: size must be an integer >= 1, got ${size}`);
    // Workers start on first need (a server that never segments starts none).
    this.workers = [];
    this.free = [];
  }

  /** Worker threads started so far. */
  get started(): number {
    return this.workers.length;
  }

  /** Loads `path` in one worker and returns its input/output metadata (errors: the file's problem). */
  async inspect(path: string): Promise<ModelInfo> {
    return (await this.withWorker((w) => w.call<{ info: ModelInfo }>({ op: 'load', path }))).info;
  }

  /** Runs the model at `path` on one free worker. `data` is transferred (do not reuse it). */
  run(path: string, inputName: string, data: Float32Array, dims: readonly number[], fetches: readonly string[]): Promise<{ outputs: Record<string, OutputTensor>; inferenceMs: number }> {
    return this.withWorker((w) =>
      w.call<{ outputs: Record<string, OutputTensor>; inferenceMs: number }>({ op: 'run', path, inputName, data, dims: [...dims], fetches: [...fetches] }, [data.buffer as ArrayBuffer]),
    );
  }

  private async withWorker<T>(job: (w: PoolWorker) => Promise<T>): Promise<T> {
    // Requests normally arrive through the InferenceQueue (at most `size` at once); model
    // inspection does not, so it may wait here, first come first served.
    let w = this.free.pop();
    if (!w && this.workers.length < this.size) {
      w = new PoolWorker(this.intraOpThreads);
      this.workers.push(w);
    }
    w ??= await new Promise<PoolWorker>((resolve) => this.waiting.push(resolve));
    try {
      return await job(w);
    } finally {
      // A crashed worker is replaced so the pool keeps its size.
      let next = w;
      if (!w.alive) {
        next = new PoolWorker(this.intraOpThreads);
        this.workers[this.workers.indexOf(w)] = next;
      }
      const waiter = this.waiting.shift();
      if (waiter) waiter(next);
      else this.free.push(next);
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
