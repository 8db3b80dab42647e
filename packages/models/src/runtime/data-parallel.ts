/**
 * Synchronous data-parallel training over worker threads: every worker holds a replica of the
 * model and of the optimiser, computes the gradient of its shard of the batch, and the gradients
 * are all-reduced (weighted sum in rank order) through a SharedArrayBuffer; each worker then
 * applies the identical update, so the replicas stay bit-identical without sending weights.
 *
 * For a loss that is a mean over samples, sum_w (n_w / N) grad L_w equals the gradient of the
 * mean loss over the whole batch of N samples, so a step equals a single-process step on the
 * whole batch up to float summation order. TensorFlow.js' wasm backend is single-threaded under
 * Node; this is how a training step uses several cores (also the synchronous form of A3C's
 * parallel actor-learners).
 *
 * Shapes: x is B x ... (the model input), y is B x ... (the loss target); B is split along axis 0
 * into contiguous shards of near-equal size.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { FromWorker, ModelFactoryRef, ModuleRef, OptimizerSpec, ToWorker } from './data-parallel-protocol';
import { CTL } from './data-parallel-protocol';

export type { ModelFactoryRef, ModuleRef, OptimizerSpec } from './data-parallel-protocol';

export interface DataParallelOptions {
  /** Number of worker threads (>= 1); default: the machine's available parallelism. */
  workers?: number;
  /** Builds the model in each worker: `(await import(module))[export](...args)` -> tf.LayersModel. */
  modelFactory: ModelFactoryRef;
  /** `(target, prediction) => tf.Scalar` (mean over the shard); default: this package's bceLoss. */
  loss?: ModuleRef;
  optimizer: OptimizerSpec;
  /** TensorFlow.js backend inside the workers (default 'wasm'). */
  backend?: 'wasm' | 'cpu';
  /**
   * Convolution engine of each worker's wasm backend (see usePortableBackend; default:
   * onnxruntime when it loads, else the wasm kernels).
   */
  convEngine?: 'onnxruntime' | 'wasm';
  /**
   * onnxruntime intra-op threads per worker (default 1). Workers x threads should not exceed the
   * cores: every worker already keeps one core busy, and a second onnxruntime thread per worker
   * would only contend with the other workers.
   */
  convThreads?: number;
  /** Initial weights (model.getWeights() order) for every replica; default: rank 0's initial weights. */
  initialWeights?: Float32Array[];
}

export interface TensorData {
  data: Float32Array;
  shape: number[];
}

export interface DataParallelTrainer {
  readonly workers: number;
  /** Convolution engine the workers' wasm backends use ('onnxruntime' or 'wasm'; null on cpu). */
  readonly convEngine: 'onnxruntime' | 'wasm' | null;
  /** onnxruntime intra-op threads per worker (convEngine 'onnxruntime' only). */
  readonly convThreads?: number;
  /** Trainable parameter count of one replica. */
  readonly paramCount: number;
  /** One synchronous step on the batch; resolves to the batch's mean loss (shard losses weighted by size). */
  step(x: TensorData, y: TensorData): Promise<{ loss: number; workerMs: number[] }>;
  /** Weights of replica `rank` (default 0), model.getWeights() order. */
  getWeights(rank?: number): Promise<{ weights: Float32Array[]; shapes: number[][] }>;
  /** Sets every replica's weights. */
  setWeights(weights: Float32Array[]): Promise<void>;
  /** Stops the workers. */
  dispose(): Promise<void>;
}

const WORKER_URL = new URL('./data-parallel-worker.mjs', import.meta.url);

/** Contiguous shard bounds of `n` samples over `workers` (sizes differ by at most one). */
export function shardBounds(n: number, workers: number): [number, number][] {
  if (!Number.isInteger(n) || n < 1) throw new Error(`shardBounds: batch size must be a positive integer, got ${n}`);
  if (!Number.isInteger(workers) || workers < 1) throw new Error(`shardBounds: workers must be a positive integer, got ${workers}`);
  const out: [number, number][] = [];
  let start = 0;
  for (let w = 0; w < workers; w++) {
    const len = Math.floor(n / workers) + (w < n % workers ? 1 : 0);
    out.push([start, start + len]);
    start += len;
  }
  return out;
}

/**
 * Starts the workers, builds a replica in each and synchronises their weights.
 * @throws when the options are invalid or a worker fails to build its model.
 */
export async function createDataParallelTrainer(opts: DataParallelOptions): Promise<DataParallelTrainer> {
  const workers = opts.workers ?? Math.max(1, availableParallelism());
  if (!Number.isInteger(workers) || workers < 1) throw new Error(`createDataParallelTrainer: workers must be a positive integer, got ${opts.workers}`);
  if (!opts.modelFactory?.module || !opts.modelFactory.export) {
    throw new Error('createDataParallelTrainer: modelFactory needs { module, export } naming a function that returns a tf.LayersModel');
  }
  if (!(opts.optimizer?.learningRate > 0)) throw new Error('createDataParallelTrainer: optimizer.learningRate must be > 0');
  if (opts.convThreads !== undefined && (!Number.isInteger(opts.convThreads) || opts.convThreads < 1)) {
    throw new Error(`createDataParallelTrainer: convThreads must be a positive integer, got ${opts.convThreads}`);
  }

  const control = new SharedArrayBuffer(CTL.words * 4);
  const threads: Worker[] = [];
  const pending = new Map<number, { resolve: (m: FromWorker) => void; reject: (e: Error) => void }>();
  let nextId = 1;
  let failure: Error | null = null;
  let closed = false;

  const request = (w: number, msg: ToWorker & { id: number }, transfer: Transferable[] = []): Promise<FromWorker> =>
    new Promise((resolve, reject) => {
      if (failure) return reject(failure);
      pending.set(msg.id, { resolve, reject });
      threads[w].postMessage(msg, transfer as never);
    });
  const failAll = (e: Error) => {
    failure ??= e;
    for (const p of pending.values()) p.reject(e);
    pending.clear();
  };

  // Start the workers; each reports 'ready' with its parameter count, then gets the shared slots.
  const readies: Promise<{ paramCount: number; convEngine: 'onnxruntime' | 'wasm' | null; convThreads?: number }>[] = [];
  for (let w = 0; w < workers; w++) {
    const t = new Worker(WORKER_URL);
    threads.push(t);
    readies.push(
      new Promise((resolve, reject) => {
        const onMsg = (m: FromWorker) => {
          if (m.type === 'ready') resolve({ paramCount: m.paramCount, convEngine: m.convEngine, convThreads: m.convThreads });
          else if (m.type === 'error' && m.id === undefined) reject(new Error(`createDataParallelTrainer: worker ${w}: ${m.message}`));
          else if ('id' in m && m.id !== undefined) {
            const p = pending.get(m.id);
            if (!p) return;
            pending.delete(m.id);
            if (m.type === 'error') p.reject(new Error(`data-parallel worker ${w}: ${m.message}`));
            else p.resolve(m);
          }
        };
        t.on('message', onMsg);
        t.on('error', (e) => {
          reject(e);
          failAll(e instanceof Error ? e : new Error(String(e)));
        });
        t.on('exit', (code) => {
          if (!closed) failAll(new Error(`data-parallel worker ${w} exited (code ${code})`));
        });
      }),
    );
  }

  // A replica's parameter count is known once built: init all, then attach a buffer of that size.
  let paramCount: number;
  let conv: { convEngine: 'onnxruntime' | 'wasm' | null; convThreads?: number };
  try {
    for (let w = 0; w < workers; w++) {
      threads[w].postMessage({
        type: 'init',
        rank: w,
        workers,
        backend: opts.backend ?? 'wasm',
        convEngine: opts.convEngine,
        convThreads: opts.convThreads,
        model: opts.modelFactory,
        loss: opts.loss,
        optimizer: opts.optimizer,
        control,
      } satisfies ToWorker);
    }
    const ready = await Promise.all(readies);
    conv = { convEngine: ready[0].convEngine, convThreads: ready[0].convThreads };
    const counts = ready.map((r) => r.paramCount);
    if (counts.some((c) => c !== counts[0])) throw new Error(`createDataParallelTrainer: the replicas differ in parameter count (${counts.join(', ')})`);
    paramCount = counts[0];
    const grads = new SharedArrayBuffer(paramCount * workers * 4);
    await Promise.all(threads.map((_, w) => request(w, { type: 'attach', id: nextId++, grads })));
  } catch (e) {
    closed = true;
    await Promise.all(threads.map((t) => t.terminate()));
    throw e;
  }

  const trainer: DataParallelTrainer = {
    workers,
    paramCount,
    ...conv,
    async step(x, y) {
      const B = x.shape[0];
      if (y.shape[0] !== B) throw new Error(`DataParallelTrainer.step: x has ${B} samples but y has ${y.shape[0]}`);
      if (B < workers) throw new Error(`DataParallelTrainer.step: batch of ${B} is smaller than the ${workers} workers`);
      const xPer = x.data.length / B;
      const yPer = y.data.length / B;
      const bounds = shardBounds(B, workers);
      const replies = await Promise.all(
        bounds.map(([a, b], w) =>
          request(w, {
            type: 'step',
            id: nextId++,
            x: x.data.slice(a * xPer, b * xPer),
            xShape: [b - a, ...x.shape.slice(1)],
            y: y.data.slice(a * yPer, b * yPer),
            yShape: [b - a, ...y.shape.slice(1)],
            weight: (b - a) / B,
          }),
        ),
      );
      let loss = 0;
      const workerMs: number[] = [];
      replies.forEach((r, w) => {
        if (r.type !== 'stepDone') throw new Error(`DataParallelTrainer.step: unexpected reply '${r.type}'`);
        loss += r.loss * ((bounds[w][1] - bounds[w][0]) / B);
        workerMs.push(r.ms);
      });
      return { loss, workerMs };
    },
    async getWeights(rank = 0) {
      const r = await request(rank, { type: 'getWeights', id: nextId++ });
      if (r.type !== 'weights') throw new Error(`DataParallelTrainer.getWeights: unexpected reply '${r.type}'`);
      return { weights: r.weights, shapes: r.shapes };
    },
    async setWeights(weights) {
      await Promise.all(threads.map((_, w) => request(w, { type: 'setWeights', id: nextId++, weights: weights.map((a) => a.slice()) })));
    },
    async dispose() {
      if (closed) return;
      closed = true;
      for (const t of threads) t.postMessage({ type: 'close' } satisfies ToWorker);
      await Promise.all(threads.map((t) => t.terminate()));
    },
  };
  try {
    await trainer.setWeights(opts.initialWeights ?? (await trainer.getWeights(0)).weights);
  } catch (e) {
    await trainer.dispose();
    throw e;
  }
  return trainer;
}
