// RL diagnostics: continues from a pre-trained Segmentation-Net checkpoint and prints, every few A2C
// steps, what the greedy policy does to background and lesion pixels and what the Segmentation-Net
// then scores (Dice on the represented vs the raw image), so a reward or fine-tuning change can be
// judged in minutes instead of a whole demo.
//   npx tsx packages/experiments/bench/rl-diagnose.ts <config.json> <pretrained checkpoint dir> [steps] [rl overrides as JSON]
import * as tf from '@tensorflow/tfjs';
import { readFileSync } from 'node:fs';
import { ExperimentConfigSchema } from '@mrlseg/types';
import { usePortableBackend, initFromSegmentationNet, segmentationLoss } from '@mrlseg/models';
import { createA2CTrainer, runEpisodeDeterministic } from '@mrlseg/rl-core';
import { applyVariant, buildRlModel, loadSlices, loadTrainNets, makeBatch } from '../src/index';

const [configPath, ckpt, stepsArg, overrides] = process.argv.slice(2);
if (!configPath || !ckpt) throw new Error('usage: rl-diagnose.ts <config.json> <pretrained checkpoint dir> [steps] [rl overrides JSON]');
await usePortableBackend((process.env.BACKEND as 'wasm' | 'cpu') ?? 'wasm');
const raw = JSON.parse(readFileSync(configPath, 'utf8'));
raw.rl = { ...(raw.rl ?? {}), ...(overrides ? JSON.parse(overrides) : {}) };
if (raw.dataset?.root && !raw.dataset.root.startsWith('/')) raw.dataset.root = new URL(raw.dataset.root, `file://${process.cwd()}/${configPath}`).pathname;
const config = applyVariant(ExperimentConfigSchema.parse({ ...raw, variant: process.env.VARIANT ?? 'rl-fb-adp-seg' }), (process.env.VARIANT ?? 'rl-fb-adp-seg') as never);
const steps = Number(stepsArg ?? 45);
const { slices } = await loadSlices(config);
const all = [...slices.values()];
const { seg } = await loadTrainNets(ckpt);
const rl = buildRlModel(config);
initFromSegmentationNet(rl, seg);
const lossFn = segmentationLoss(config.training.loss);
const trainer = createA2CTrainer({
  policyNet: rl, segNet: seg, rl: config.rl, optimizer: tf.train.adam(config.training.rlLr),
  segOptimizer: config.rl.finetuneSeg ? tf.train.adam(Number(process.env.SEG_LR ?? 9e-4)) : undefined,
  segLoss: (y, p) => lossFn(y, p), seed: Number(process.env.SEED ?? 3),
});
// A fixed evaluation batch: the 16 slices with the largest lesions and 16 with the smallest non-empty ones.
const withLesion = all.filter((s) => s.mask.some((v) => v > 0)).sort((a, b) => a.mask.reduce((p, v) => p + v, 0) - b.mask.reduce((p, v) => p + v, 0));
const evalIdx = [...withLesion.slice(0, 16), ...withLesion.slice(-16)].map((s) => all.indexOf(s));
const ev = makeBatch(all, evalIdx, null);
const dice = (p: tf.Tensor, y: tf.Tensor) => tf.tidy(() => {
  const b = tf.cast(tf.greater(p, 0.5), 'float32');
  const inter = tf.sum(tf.mul(b, y), [1, 2, 3]);
  const den = tf.add(tf.sum(b, [1, 2, 3]), tf.sum(y, [1, 2, 3]));
  return tf.mean(tf.div(tf.mul(2, inter), tf.maximum(den, 1))).dataSync()[0];
});
const report = (step: number, extra: Record<string, number | null> = {}) => {
  const e = runEpisodeDeterministic(rl, seg, ev.images, config.rl);
  const kept = e.retained[e.retained.length - 1];
  const [bgMasked, fgMasked] = tf.tidy(() => {
    const m = tf.sub(1, kept);
    const fg = ev.labels;
    const bg = tf.sub(1, fg);
    return [tf.div(tf.sum(tf.mul(m, bg)), tf.sum(bg)).dataSync()[0], tf.div(tf.sum(tf.mul(m, fg)), tf.sum(fg)).dataSync()[0]];
  });
  const dRep = dice(e.probabilities, ev.labels);
  const rawP = seg.apply(ev.images, { training: false }) as tf.Tensor;
  const dRaw = dice(rawP, ev.labels);
  rawP.dispose();
  e.dispose();
  console.log(JSON.stringify({ step, bgMasked: +bgMasked.toFixed(4), fgMasked: +fgMasked.toFixed(4), diceRepresented: +dRep.toFixed(4), diceRaw: +dRaw.toFixed(4), ...extra }));
};
report(0);
const B = config.training.rlBatchSize;
for (let s = 1; s <= steps; s++) {
  const idx = Array.from({ length: B }, (_, i) => ((s - 1) * B + i * 7919) % all.length);
  const { images, labels } = makeBatch(all, idx, { config: config.preprocessing.augmentation, seed: 1, phase: 2, epoch: s });
  const r = trainer.trainStep(images, labels);
  tf.dispose([images, labels]);
  if (s % Number(process.env.EVERY ?? 5) === 0) report(s, { reward: +r.meanReward.toFixed(4), local: +r.meanLocalReward.toFixed(4), masked: +r.maskedFraction.toFixed(4), entropy: +r.entropy.toFixed(4), segLoss: r.segLoss === null ? null : +r.segLoss.toFixed(4) });
}
