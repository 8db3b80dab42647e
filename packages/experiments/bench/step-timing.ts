// Prints the median time of a Segmentation-Net training step and of an A2C step (episode + update +
// fine-tuning) for the demo's network sizes: npx tsx packages/experiments/bench/step-timing.ts [size] [preset]
import * as tf from '@tensorflow/tfjs';
import { ExperimentConfigSchema } from '@mrlseg/types';
import { usePortableBackend, segmentationLoss } from '@mrlseg/models';
import { createA2CTrainer, trainableVariables } from '@mrlseg/rl-core';
import { buildRlModel, buildSegModel } from '../src/index';

await usePortableBackend((process.env.BACKEND as 'wasm' | 'cpu') ?? 'wasm');
const size = Number(process.argv[2] ?? 64);
const custom = process.argv[3] === 'small' ? { preset: 'custom', segNet: { channels: [8, 16, 32, 64], hidden: 64, layers: 1, heads: 2, mlp: 128, decoderChannels: [32, 16, 8, 8] } } : {};
const cfg = ExperimentConfigSchema.parse({ preprocessing: { size }, model: custom, variant: 'rl-fb-adp-seg' });
const seg = buildSegModel(cfg);
const rl = buildRlModel(cfg);
const B = Number(process.env.B ?? 8);
const x = tf.randomUniform([B, size, size, 1], 0, 1, 'float32', 1) as tf.Tensor4D;
const y = tf.cast(tf.less(tf.randomUniform([B, size, size, 1], 0, 1, 'float32', 2), 0.05), 'float32') as tf.Tensor4D;
const opt = tf.train.adam(1e-3);
const loss = segmentationLoss('bce-dice');
const vars = trainableVariables(seg);
const med = (a: number[]) => a.sort((p, q) => p - q)[Math.floor(a.length / 2)];
const cpu = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };
const cs: number[] = [];
const cp: number[] = [];
const cr: number[] = [];
const ts: number[] = [];
for (let i = 0; i < 4; i++) {
  const t0 = performance.now();
  const c0 = cpu();
  const l = opt.minimize(() => loss(y, seg.apply(x, { training: true }) as tf.Tensor), true, vars)!;
  await l.data();
  l.dispose();
  ts.push(performance.now() - t0);
  cs.push(cpu() - c0);
}
const ps: number[] = [];
for (let i = 0; i < 3; i++) {
  const t0 = performance.now();
  const c0 = cpu();
  const p = seg.predict(x) as tf.Tensor;
  await p.data();
  p.dispose();
  ps.push(performance.now() - t0);
  cp.push(cpu() - c0);
}
const trainer = createA2CTrainer({ policyNet: rl, segNet: seg, rl: cfg.rl, optimizer: tf.train.adam(1e-3), segOptimizer: opt, seed: 1 });
const rs: number[] = [];
let last;
for (let i = 0; i < 3; i++) {
  const t0 = performance.now();
  const c0 = cpu();
  last = trainer.trainStep(x, y);
  rs.push(performance.now() - t0);
  cr.push(cpu() - c0);
}
console.log(JSON.stringify({ size, batch: B, segParams: seg.countParams(), rlParams: rl.countParams(), segTrainStepMs: med(ts.slice(1)), segPredictMs: med(ps), a2cStepMs: med(rs.slice(1)), cpuMs: { segTrainStep: med(cs.slice(1)), segPredict: med(cp), a2cStep: med(cr.slice(1)) }, timings: last?.timings }));
