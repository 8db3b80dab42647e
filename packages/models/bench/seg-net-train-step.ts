/**
 * Train-step time of the Segmentation-Net CPU preset (and the Reinforcement-Net built from it)
 * on the active portable backend: `npx tsx packages/models/bench/seg-net-train-step.ts
 * [--backend wasm|cpu] [--conv-engine onnxruntime|wasm] [--threads 2] [--size 128] [--batch 4]
 * [--steps 3]` (wasm convolutions on onnxruntime by default). Prints one JSON line per network:
 * median milliseconds of one Adam step (forward + backward + update, loss 0.5 BCE + 0.5 Dice for
 * the Seg-Net; policy BCE + value MSE for the RL-Net) after one warm-up step.
 */
import * as tf from '@tensorflow/tfjs';
import { SEG_NET_PRESETS } from '@mrlseg/types';
import { backendLabel, buildReinforcementNet, buildSegmentationNet, computeBceDiceLoss, convEngineInfo, countParams, usePortableBackend } from '../src/index';

const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : dflt;
};
const backend = arg('backend', 'wasm') as 'wasm' | 'cpu';
const size = Number(arg('size', '128'));
const batch = Number(arg('batch', '4'));
const steps = Number(arg('steps', '3'));
const convEngine = arg('conv-engine', 'onnxruntime') as 'onnxruntime' | 'wasm';
const threads = process.argv.includes('--threads') ? Number(arg('threads', '2')) : undefined;

await usePortableBackend(backend, { convEngine, threads });
const x = tf.randomUniform([batch, size, size, 1], 0, 1, 'float32', 1);
const y = tf.tidy(() => tf.cast(tf.less(tf.randomUniform([batch, size, size, 1], 0, 1, 'float32', 2), 0.05), 'float32'));
for (const kind of ['seg-net', 'rl-net'] as const) {
  const model = kind === 'seg-net' ? buildSegmentationNet(SEG_NET_PRESETS.cpu, { inputSize: size }) : buildReinforcementNet(SEG_NET_PRESETS.cpu, { inputSize: size });
  const opt = tf.train.adam(1e-3);
  const loss = () => {
    const out = [model.apply(x, { training: true })].flat() as tf.Tensor[];
    if (out.length === 1) return computeBceDiceLoss(y, out[0]);
    return tf.add(computeBceDiceLoss(y, tf.slice(out[0], [0, 0, 0, 0], [-1, -1, -1, 1])), tf.mean(tf.square(tf.sub(out[1], y)))) as tf.Scalar;
  };
  const times: number[] = [];
  for (let i = 0; i <= steps; i++) {
    const t0 = performance.now();
    const l = opt.minimize(loss, true)!;
    await l.data();
    l.dispose();
    if (i > 0) times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  const median = times[times.length >> 1];
  console.log(JSON.stringify({ model: kind, preset: 'cpu', params: countParams(model), backend: backendLabel(), convThreads: convEngineInfo().threads, size, batch, steps, trainStepMs: Math.round(median) }));
  opt.dispose();
  model.dispose();
}
tf.dispose([x, y]);
