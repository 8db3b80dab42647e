/**
 * training.maskOut (issue 15, docs/results.md section 4.9): the pre-training batches get a random
 * share of their lesion-free units masked exactly as the agent masks, and nothing else changes.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { ExperimentConfigSchema, RlSchema } from '@mrlseg/types';
import { BENCHMARK_RL_INPUT, DEMO_CONFIG_INPUT, loadSlices, pretrainKey } from '../src/index';
import { maskOutBatch } from '../src/pipeline/mask-out';
import { pretrainBatch } from '../src/pipeline/train-run';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('maskOutBatch', () => {
  // 2 images of 4 x 4 with 2 x 2 patch units (4 units each); image 0 has foreground in unit 0 (top left)
  // and unit 3 (bottom right), image 1 none.
  const img = Float32Array.from({ length: 32 }, (_, i) => 0.1 + (i % 16) / 20);
  const lab = new Float32Array(32);
  lab[0] = 1; // (0,0): unit 0
  lab[15] = 1; // (3,3): unit 3
  const rl = RlSchema.parse({ unitShape: 'square', unitSize: 2, maskValue: 0.9 });

  it('masks whole lesion-free units to rl.maskValue, never a unit with foreground, and nothing else', () => {
    const images = tf.tensor4d(img, [2, 4, 4, 1]);
    const labels = tf.tensor4d(lab, [2, 4, 4, 1]);
    const unitOf = (i: number) => Math.floor(Math.floor(i / 4) / 2) * 2 + Math.floor((i % 4) / 2);
    const before = tf.memory().numTensors;
    let maskedUnits = 0;
    for (let seed = 0; seed < 40; seed++) {
      const { images: out, maskedFraction } = maskOutBatch(images, labels, rl, 1, seed);
      const v = out.dataSync();
      out.dispose();
      let masked = 0;
      for (let k = 0; k < 2; k++) {
        const state = new Map<number, boolean>();
        for (let i = 0; i < 16; i++) {
          const j = k * 16 + i;
          const isMasked = v[j] !== img[j];
          if (isMasked) {
            expect(v[j]).toBeCloseTo(0.9, 6);
            masked++;
          }
          // a unit is masked as a whole
          const u = unitOf(i);
          if (state.has(u)) expect(state.get(u)).toBe(isMasked);
          state.set(u, isMasked);
        }
        if (k === 0) {
          expect(state.get(0)).toBe(false);
          expect(state.get(3)).toBe(false);
        }
        maskedUnits += [...state.values()].filter(Boolean).length;
      }
      expect(maskedFraction).toBeCloseTo(masked / 32, 10);
    }
    // 6 lesion-free units per batch, each masked with a share drawn from U(0, 1): half of them on average.
    expect(maskedUnits / (40 * 6)).toBeGreaterThan(0.3);
    expect(maskedUnits / (40 * 6)).toBeLessThan(0.7);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([images, labels]);
  });

  it('is reproducible from its seed, the identity at maxShare 0, and refuses bad arguments', () => {
    const images = tf.tensor4d(img, [2, 4, 4, 1]);
    const labels = tf.tensor4d(lab, [2, 4, 4, 1]);
    const a = maskOutBatch(images, labels, rl, 0.8, 7);
    const b = maskOutBatch(images, labels, rl, 0.8, 7);
    expect(Array.from(a.images.dataSync())).toEqual(Array.from(b.images.dataSync()));
    const z = maskOutBatch(images, labels, rl, 0, 7);
    expect(Array.from(z.images.dataSync())).toEqual(Array.from(img));
    expect(z.maskedFraction).toBe(0);
    tf.dispose([a.images, b.images, z.images]);
    expect(() => maskOutBatch(images, labels, rl, 1.5, 0)).toThrow(/maskOutBatch: maxShare must be in \[0, 1\], got 1.5/);
    const wrong = tf.zeros([1, 4, 4, 1]) as tf.Tensor4D;
    expect(() => maskOutBatch(images, wrong, rl, 0.5, 0)).toThrow(/maskOutBatch: images and labels must be B x H x W x 1 tensors of the same shape/);
    tf.dispose([images, labels, wrong]);
  });
});

describe('training.maskOut in pre-training', () => {
  it('pretrainBatch leaves the batch alone at 0, masks lesion-free pixels only when on, and names maskOut in the pre-training key only when on', async () => {
    const input = {
      ...DEMO_CONFIG_INPUT,
      dataset: { ...DEMO_CONFIG_INPUT.dataset, synthetic: { ...(DEMO_CONFIG_INPUT.dataset as { synthetic: object }).synthetic, count: 8, slicesPerPatient: 4, size: 32, seed: 3 } },
      preprocessing: { ...DEMO_CONFIG_INPUT.preprocessing, size: 32 },
      rl: { ...BENCHMARK_RL_INPUT, credit: 'counterfactual' as const, unitSize: 8, unitShape: 'superpixel' as const },
      variants: undefined,
    };
    const off = ExperimentConfigSchema.parse(input);
    const on = ExperimentConfigSchema.parse({ ...input, training: { ...DEMO_CONFIG_INPUT.training, maskOut: 1 } });
    const slices = [...(await loadSlices(off)).slices.values()];
    const idx = [0, 1, 2, 3, 4, 5, 6, 7];
    const before = tf.memory().numTensors;
    const a = pretrainBatch(off, slices, idx, 0, 0);
    const b = pretrainBatch(on, slices, idx, 0, 0);
    const [ia, ib, la, lb] = [a.images.dataSync(), b.images.dataSync(), a.labels.dataSync(), b.labels.dataSync()];
    expect(Array.from(lb)).toEqual(Array.from(la));
    let changed = 0;
    for (let i = 0; i < ia.length; i++) {
      if (ia[i] !== ib[i]) {
        changed++;
        expect(la[i]).toBe(0); // never a foreground pixel
        expect(ib[i]).toBe(on.rl.maskValue);
      }
    }
    expect(changed).toBeGreaterThan(0);
    tf.dispose([a.images, a.labels, b.images, b.labels]);
    expect(tf.memory().numTensors).toBe(before);
    // Pre-training keys: when off, the agent's units do not enter (runs of different agents share
    // one pre-training, as before the option); when on, maskOut and the units both do.
    const units16 = (c: typeof input, maskOut: number) => ExperimentConfigSchema.parse({ ...c, rl: { ...c.rl, unitSize: 16 }, training: { ...DEMO_CONFIG_INPUT.training, maskOut } });
    expect(pretrainKey(units16(input, 0), 0)).toBe(pretrainKey(off, 0));
    expect(pretrainKey(on, 0)).not.toBe(pretrainKey(off, 0));
    expect(pretrainKey(units16(input, 1), 0)).not.toBe(pretrainKey(on, 0));
  });
});
