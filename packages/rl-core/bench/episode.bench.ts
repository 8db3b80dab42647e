/**
 * Benchmark of one MRL-Seg RL training step (an episode per slice, the A2C update, the optional
 * Segmentation-Net fine-tuning step) and of deterministic inference, with the time split into
 * policy forward, segmentation forward, reward computation, backward and fine-tuning.
 *
 *   npx tsx packages/rl-core/bench/episode.bench.ts [--size 128] [--batch 10] [--T 4] [--steps 3]
 *                                                   [--backend wasm|cpu] [--finetune 0|1]
 *
 * The networks are the real ones from @mrlseg/models (CPU preset sizes). Importing models from
 * rl-core is allowed in this bench file only (the library code takes networks as tf.LayersModel).
 */
import * as tf from '@tensorflow/tfjs';
import { RlSchema, SEG_NET_PRESETS } from '@mrlseg/types';
// eslint-disable-next-line @nx/enforce-module-boundaries -- benchmark only: real networks; rl-core's src never imports models
import { buildReinforcementNet, buildSegmentationNet, usePortableBackend } from '@mrlseg/models';
import { createA2CTrainer, runEpisodeDeterministic } from '../src/index';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}
function intArg(name: string, fallback: number): number {
  const v = Number(arg(name, String(fallback)));
  if (!Number.isInteger(v) || v <= 0) throw new Error(`--${name} must be a positive integer, got '${arg(name, '')}'`);
  return v;
}

const size = intArg('size', 128);
const batch = intArg('batch', 10);
const T = intArg('T', 4);
const steps = intArg('steps', 3);
const backend = arg('backend', 'wasm');
if (backend !== 'wasm' && backend !== 'cpu') throw new Error(`--backend must be wasm or cpu, got '${backend}'`);
const finetune = arg('finetune', '1') === '1';

await usePortableBackend(backend);
const sizes = SEG_NET_PRESETS.cpu;
const segNet = buildSegmentationNet(sizes, { inputSize: size, seed: 1 });
const policyNet = buildReinforcementNet(sizes, { inputSize: size, seed: 2 });
const rl = RlSchema.parse({ episodeLength: T, finetuneSeg: finetune });
const optimizer = tf.train.adam(1e-3);
const segOptimizer = tf.train.adam(1e-4);
const trainer = createA2CTrainer({ policyNet, segNet, rl, optimizer, segOptimizer: finetune ? segOptimizer : undefined, seed: 1 });

const images = tf.randomUniform([batch, size, size, 1], 0, 1, 'float32', 1) as tf.Tensor4D;
const labels = tf.tidy(() => tf.cast(tf.greater(tf.randomUniform([batch, size, size, 1], 0, 1, 'float32', 2), 0.97), 'float32')) as tf.Tensor4D;

console.error(`backend ${tf.getBackend()}, ${size} px, batch ${batch}, T = ${T}, fine-tune ${finetune}; 1 warm-up + ${steps} timed steps`);
trainer.trainStep(images, labels); // warm-up (kernel set-up, optimiser slots)
const sums = { policyForwardMs: 0, segForwardMs: 0, rewardMs: 0, backwardMs: 0, segFinetuneMs: 0, totalMs: 0 };
for (let i = 0; i < steps; i++) {
  const r = trainer.trainStep(images, labels);
  for (const k of Object.keys(sums) as (keyof typeof sums)[]) sums[k] += r.timings[k];
  console.error(`step ${i + 1}/${steps}: ${(r.timings.totalMs / 1000).toFixed(2)} s`);
}
const mean = Object.fromEntries(Object.entries(sums).map(([k, v]) => [k, Math.round(v / steps)]));
runEpisodeDeterministic(policyNet, segNet, images, rl).dispose(); // warm-up
const t0 = performance.now();
runEpisodeDeterministic(policyNet, segNet, images, rl).dispose();
const inferenceMs = performance.now() - t0;
console.log(
  JSON.stringify({
    backend: tf.getBackend(),
    size,
    batch,
    episodeLength: T,
    finetuneSeg: finetune,
    trainStepMs: mean.totalMs,
    episodesPerSecond: Number(((batch * 1000) / mean.totalMs).toFixed(3)),
    split: mean,
    inferenceMs: Math.round(inferenceMs),
    inferenceSlicesPerSecond: Number(((batch * 1000) / inferenceMs).toFixed(3)),
  }),
);
trainer.dispose();
tf.dispose([images, labels]);
