/**
 * bench-unet: the fixed small U-Net of `shared/bench/README.md` that measures the training
 * engine (backend, kernels, threading), not the architecture. Input B x S x S x 1 (NHWC).
 * Layers c1..c6 exactly as specified there; loss BCE against a random 0/1 target with 10 % ones;
 * Adam lr 1e-3.
 */
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { convEngineInfo, type ConvEngine } from './runtime/backend';
import { createDataParallelTrainer } from './runtime/data-parallel';

/** Builds the bench-unet for S x S inputs (S divisible by 4). */
export function buildBenchUnet(size: number): tf.LayersModel {
  if (!Number.isInteger(size) || size < 4 || size % 4 !== 0) {
    throw new Error(`buildBenchUnet: size must be a positive multiple of 4, got ${size}`);
  }
  const conv = (filters: number, name: string, k = 3, activation: 'relu' | 'sigmoid' = 'relu') =>
    tf.layers.conv2d({ filters, kernelSize: k, padding: 'same', activation, useBias: true, name });
  const input = tf.input({ shape: [size, size, 1], name: 'image' });
  const s1 = conv(16, 'c1').apply(input) as tf.SymbolicTensor;
  const p1 = tf.layers.maxPooling2d({ poolSize: 2, strides: 2 }).apply(s1) as tf.SymbolicTensor;
  const s2 = conv(32, 'c2').apply(p1) as tf.SymbolicTensor;
  const p2 = tf.layers.maxPooling2d({ poolSize: 2, strides: 2 }).apply(s2) as tf.SymbolicTensor;
  const c3 = conv(64, 'c3').apply(p2) as tf.SymbolicTensor;
  const u2 = tf.layers.upSampling2d({ size: [2, 2], interpolation: 'nearest' }).apply(c3) as tf.SymbolicTensor;
  const m2 = tf.layers.concatenate({ axis: -1 }).apply([u2, s2]) as tf.SymbolicTensor;
  const c4 = conv(32, 'c4').apply(m2) as tf.SymbolicTensor;
  const u1 = tf.layers.upSampling2d({ size: [2, 2], interpolation: 'nearest' }).apply(c4) as tf.SymbolicTensor;
  const m1 = tf.layers.concatenate({ axis: -1 }).apply([u1, s1]) as tf.SymbolicTensor;
  const c5 = conv(16, 'c5').apply(m1) as tf.SymbolicTensor;
  const out = conv(1, 'c6', 1, 'sigmoid').apply(c5) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: out, name: 'bench_unet' });
}

export interface BenchResult {
  framework: 'tfjs';
  backend: string;
  size: number;
  batch: number;
  trainStepMs: number;
  predictMs: number;
  /** Worker threads of the data-parallel train step (1: this thread). */
  workers: number;
  /** Who ran the train step's convolutions: 'onnxruntime', 'wasm' (XNNPACK), or null (another backend). */
  convEngine: ConvEngine | null;
  /** onnxruntime intra-op threads of the train step (per worker with workers > 1). */
  convThreads?: number;
  /** Peak resident set size of the process so far (MiB; includes the worker threads). */
  peakRssMiB: number;
}

/** Peak RSS of this process in MiB (process.resourceUsage().maxRSS is in KiB). */
const peakRssMiB = (): number => Math.round(process.resourceUsage().maxRSS / 1024);

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** Mean binary cross-entropy with probabilities clipped to [1e-7, 1 - 1e-7]. */
export function bceLoss(target: tf.Tensor, prob: tf.Tensor): tf.Scalar {
  return tf.tidy(() => {
    const p = tf.clipByValue(prob, 1e-7, 1 - 1e-7);
    return tf.neg(tf.mean(tf.add(tf.mul(target, tf.log(p)), tf.mul(tf.sub(1, target), tf.log(tf.sub(1, p)))))) as tf.Scalar;
  });
}

/**
 * Runs the benchmark on the active backend: one warm-up, then the median of `steps` train steps
 * and of `steps` plain forward passes. Deterministic data from `seed`. With `workers` > 1 the
 * train step is data-parallel over that many worker threads (wasm backend in each, its
 * convolutions on `convEngine` with `convThreads` onnxruntime threads per worker, default 1; see
 * createDataParallelTrainer); predict always runs in this thread.
 */
export async function runBenchUnet(opts: {
  size: number;
  batch: number;
  steps?: number;
  seed?: number;
  workers?: number;
  convEngine?: ConvEngine;
  convThreads?: number;
}): Promise<BenchResult> {
  const steps = opts.steps ?? 5;
  const seed = opts.seed ?? 0;
  const workers = opts.workers ?? 1;
  if (!Number.isInteger(workers) || workers < 1) throw new Error(`runBenchUnet: workers must be a positive integer, got ${opts.workers}`);
  if (workers > opts.batch) throw new Error(`runBenchUnet: workers (${workers}) must not exceed batch (${opts.batch})`);
  if (workers > 1) {
    const par = await parallelTrainStepMs(opts.size, opts.batch, steps, seed, workers, opts.convEngine, opts.convThreads);
    const single = await benchInThisThread(opts.size, opts.batch, steps, seed, false);
    return { ...single, trainStepMs: par.ms, workers, convEngine: par.convEngine, convThreads: par.convThreads, peakRssMiB: peakRssMiB() };
  }
  return benchInThisThread(opts.size, opts.batch, steps, seed, true);
}

async function benchInThisThread(size: number, batch: number, steps: number, seed: number, timeTraining: boolean): Promise<BenchResult> {
  const opts = { size, batch };
  const model = buildBenchUnet(opts.size);
  const optimizer = tf.train.adam(1e-3);
  const x = tf.randomUniform([opts.batch, opts.size, opts.size, 1], 0, 1, 'float32', seed);
  const y = tf.tidy(() => tf.cast(tf.less(tf.randomUniform([opts.batch, opts.size, opts.size, 1], 0, 1, 'float32', seed + 1), 0.1), 'float32'));
  const trainStep = async () => {
    const loss = optimizer.minimize(() => bceLoss(y, model.apply(x, { training: true }) as tf.Tensor), true);
    await loss!.data();
    loss!.dispose();
  };
  const predict = async () => {
    const p = model.predict(x) as tf.Tensor;
    await p.data();
    p.dispose();
  };
  try {
    if (timeTraining) await trainStep();
    await predict();
    const train: number[] = [];
    for (let i = 0; i < (timeTraining ? steps : 0); i++) {
      const t0 = performance.now();
      await trainStep();
      train.push(performance.now() - t0);
    }
    const pred: number[] = [];
    for (let i = 0; i < steps; i++) {
      const t0 = performance.now();
      await predict();
      pred.push(performance.now() - t0);
    }
    return {
      framework: 'tfjs',
      backend: tf.getBackend(),
      size: opts.size,
      batch: opts.batch,
      trainStepMs: timeTraining ? Math.round(median(train) * 10) / 10 : NaN,
      predictMs: Math.round(median(pred) * 10) / 10,
      workers: 1,
      ...(() => {
        const c = convEngineInfo();
        return { convEngine: c.engine, ...(c.threads ? { convThreads: c.threads } : {}) };
      })(),
      peakRssMiB: peakRssMiB(),
    };
  } finally {
    x.dispose();
    y.dispose();
    optimizer.dispose();
    model.dispose();
  }
}

/** Median data-parallel train step (ms) of the bench-unet over `workers` threads, after one warm-up. */
async function parallelTrainStepMs(
  size: number,
  batch: number,
  steps: number,
  seed: number,
  workers: number,
  convEngine: ConvEngine | undefined,
  convThreads: number | undefined,
): Promise<{ ms: number; convEngine: ConvEngine | null; convThreads?: number }> {
  const trainer = await createDataParallelTrainer({
    workers,
    convEngine,
    convThreads,
    modelFactory: { module: fileURLToPath(import.meta.url), export: 'buildBenchUnet', args: [size] },
    optimizer: { name: 'adam', learningRate: 1e-3 },
  });
  try {
    const [xs, ys] = tf.tidy(() => {
      const x = tf.randomUniform([batch, size, size, 1], 0, 1, 'float32', seed);
      const y = tf.cast(tf.less(tf.randomUniform([batch, size, size, 1], 0, 1, 'float32', seed + 1), 0.1), 'float32');
      return [x.dataSync() as Float32Array, y.dataSync() as Float32Array];
    });
    const x = { data: xs, shape: [batch, size, size, 1] };
    const y = { data: ys, shape: [batch, size, size, 1] };
    await trainer.step(x, y);
    const times: number[] = [];
    for (let i = 0; i < steps; i++) {
      const t0 = performance.now();
      await trainer.step(x, y);
      times.push(performance.now() - t0);
    }
    return { ms: Math.round(median(times) * 10) / 10, convEngine: trainer.convEngine, ...(trainer.convThreads ? { convThreads: trainer.convThreads } : {}) };
  } finally {
    await trainer.dispose();
  }
}
