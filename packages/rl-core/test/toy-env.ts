/**
 * A toy environment where the right policy is known. Background is mid-grey (0.5), the lesion a
 * bright block (1.0) and the distractors dark blocks (0.0). The segmenter ({@link toySegNet})
 * flags any pixel far from grey, p = sigmoid(20 (|x - 0.5| - 0.3)), so it takes the distractors
 * for lesion. Masking sets a pixel to grey (rl.maskValue = 0.5): on a distractor that turns a
 * false positive (CE about 4 nats) into a true negative (local reward about +4), on the lesion a
 * true positive into a false negative (about -6), on background it changes nearly nothing. The
 * optimal policy masks the distractors and retains the lesion.
 */
import * as tf from '@tensorflow/tfjs';

export const TOY = { background: 0.5, lesion: 1.0, distractor: 0.0, maskValue: 0.5, noise: 0.1 } as const;

export interface ToyBatch {
  images: tf.Tensor4D;
  labels: tf.Tensor4D;
  /** 1 on distractor pixels. */
  distractors: tf.Tensor4D;
}

function lcg(seed: number): () => number {
  let s = (seed * 2654435761 + 1) >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

/** `batch` slices of size x size: one 3 x 3 lesion and three 2 x 2 distractors each, seeded. */
export function toyBatch(batch: number, size: number, seed: number): ToyBatch {
  const rnd = lcg(seed);
  const img = new Float32Array(batch * size * size);
  const lab = new Float32Array(img.length);
  const dis = new Float32Array(img.length);
  const jitter = () => (rnd() - 0.5) * TOY.noise;
  for (let b = 0; b < batch; b++) {
    const o = b * size * size;
    for (let i = 0; i < size * size; i++) img[o + i] = TOY.background + jitter();
    const block = (n: number, value: number, target: Float32Array) => {
      for (let tries = 0; tries < 100; tries++) {
        const r0 = Math.floor(rnd() * (size - n + 1));
        const c0 = Math.floor(rnd() * (size - n + 1));
        let free = true;
        for (let r = r0 - 1; r <= r0 + n; r++) {
          for (let c = c0 - 1; c <= c0 + n; c++) {
            if (r >= 0 && c >= 0 && r < size && c < size && (lab[o + r * size + c] || dis[o + r * size + c])) free = false;
          }
        }
        if (!free) continue;
        for (let r = r0; r < r0 + n; r++) {
          for (let c = c0; c < c0 + n; c++) {
            img[o + r * size + c] = value + jitter();
            target[o + r * size + c] = 1;
          }
        }
        return;
      }
    };
    block(3, TOY.lesion, lab);
    for (let d = 0; d < 3; d++) block(2, TOY.distractor, dis);
  }
  const shape: [number, number, number, number] = [batch, size, size, 1];
  return { images: tf.tensor4d(img, shape), labels: tf.tensor4d(lab, shape), distractors: tf.tensor4d(dis, shape) };
}

/** The toy segmenter: p = sigmoid(gain (|x - 0.5| - 0.3)) per pixel (two dense layers). */
export function toySegNet(gain = 20): tf.LayersModel {
  const input = tf.input({ shape: [null, null, 1] as unknown as number[] });
  const absLayer = tf.layers.dense({ units: 2, activation: 'relu' });
  const outLayer = tf.layers.dense({ units: 1, activation: 'sigmoid' });
  const model = tf.model({ inputs: input, outputs: outLayer.apply(absLayer.apply(input)) as tf.SymbolicTensor });
  tf.tidy(() => {
    absLayer.setWeights([tf.tensor2d([[1, -1]]), tf.tensor1d([-0.5, 0.5])]); // relu(x - .5), relu(.5 - x)
    outLayer.setWeights([tf.tensor2d([[gain], [gain]]), tf.tensor1d([-0.3 * gain])]);
  });
  return model;
}
