/**
 * Per-kernel profile of bench-unet train steps (tf.profile), for issue 10's "measure first".
 *
 *   npx tsx packages/models/bench/profile-step.ts [--size 128] [--batch 4] [--steps 6] [--threads 2] [--engine onnxruntime|wasm]
 *
 * Prints the wall time of every step, then the kernels of the steps after the first sorted by
 * total time (ms per step, calls per step).
 */
import * as tf from '@tensorflow/tfjs';
import { bceLoss, buildBenchUnet, usePortableBackend } from '../src/index';

const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const size = Number(arg('size', '128'));
const batch = Number(arg('batch', '4'));
const steps = Number(arg('steps', '6'));
const threads = Number(arg('threads', '2'));
const engine = arg('engine', 'onnxruntime') as 'onnxruntime' | 'wasm';

await usePortableBackend('wasm', { convEngine: engine, threads });
const model = buildBenchUnet(size);
const optimizer = tf.train.adam(1e-3);
const x = tf.randomUniform([batch, size, size, 1], 0, 1, 'float32', 0);
const y = tf.tidy(() => tf.cast(tf.less(tf.randomUniform([batch, size, size, 1], 0, 1, 'float32', 1), 0.1), 'float32'));
const step = async () => {
  const loss = optimizer.minimize(() => bceLoss(y, model.apply(x, { training: true }) as tf.Tensor), true);
  await loss!.data();
  loss!.dispose();
};
const perKernel = new Map<string, { ms: number; calls: number }>();
for (let s = 0; s < steps; s++) {
  const t0 = performance.now();
  const info = await tf.profile(step);
  const wall = performance.now() - t0;
  let kernelMs = 0;
  let convMs = 0;
  for (const k of info.kernels) {
    const ms = Number(k.kernelTimeMs) || 0;
    kernelMs += ms;
    if (k.name.startsWith('Conv2D')) convMs += ms;
    if (s === 0) continue;
    const e = perKernel.get(k.name) ?? { ms: 0, calls: 0 };
    e.ms += ms;
    e.calls += 1;
    perKernel.set(k.name, e);
  }
  console.log(`step ${s}: wall ${wall.toFixed(1)} ms, kernels ${kernelMs.toFixed(1)} ms (convolutions ${convMs.toFixed(1)}), ${info.kernels.length} kernel calls`);
}
const rows = [...perKernel.entries()].sort((a, b) => b[1].ms - a[1].ms);
const n = steps - 1;
for (const [name, e] of rows) console.log(`${name.padEnd(28)} ${(e.ms / n).toFixed(1).padStart(7)} ms ${String(e.calls / n).padStart(5)} calls`);
