/** Checkpoint round trip through model.json + weights.bin + config.json (no native TensorFlow). */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, describe, expect, it } from 'vitest';
import { buildModel, loadCheckpoint, modelSpecOf, saveCheckpoint, type ModelSpec } from '../src/index';
import { randomiseBatchNorm, seeded, TINY } from './helpers';

const root = mkdtempSync(join(tmpdir(), 'mrlseg-ckpt-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('saveCheckpoint / loadCheckpoint', () => {
  it.each<ModelSpec>([
    { kind: 'seg-net', sizes: TINY, inputSize: 32, seed: 3 },
    { kind: 'rl-net', sizes: TINY, inputSize: 32, seed: 3, headChannels: 4 },
    { kind: 'unet', baseWidth: 4, inputSize: 32, seed: 3 },
    { kind: 'resunet', baseWidth: 4, inputSize: 32, seed: 3 },
  ])('$kind: identical weights, spec and outputs after the round trip', async (spec) => {
    const m = buildModel(spec);
    randomiseBatchNorm(m, 9);
    const dir = join(root, spec.kind);
    await saveCheckpoint(m, dir, { meta: { note: 'test' } });
    const { model, config } = await loadCheckpoint(dir);
    expect(config.spec).toEqual(spec);
    expect(config.meta).toEqual({ note: 'test' });
    expect(modelSpecOf(model)).toEqual(spec);
    expect(model.layers.map((l) => l.name)).toEqual(m.layers.map((l) => l.name));
    const x = tf.tensor4d(seeded(2 * 32 * 32, 5), [2, 32, 32, 1]);
    const a = [m.predict(x)].flat() as tf.Tensor[];
    const b = [model.predict(x)].flat() as tf.Tensor[];
    a.forEach((t, i) => expect(Array.from(b[i].dataSync())).toEqual(Array.from(t.dataSync())));
    tf.dispose([x, ...a, ...b]);
    m.dispose();
    model.dispose();
  });
  it('names the missing or broken file', async () => {
    await expect(loadCheckpoint(join(root, 'nope'))).rejects.toThrow(/loadCheckpoint: '.*nope\/config.json' is missing/);
    const dir = join(root, 'broken');
    const m = buildModel({ kind: 'unet', baseWidth: 2, inputSize: 16, seed: 0 });
    await saveCheckpoint(m, dir);
    m.dispose();
    const w = readFileSync(join(dir, 'weights.bin'));
    writeFileSync(join(dir, 'weights.bin'), w.subarray(0, 100));
    await expect(loadCheckpoint(dir)).rejects.toThrow(/weights.bin' has 100 bytes, the manifest needs \d+/);
    writeFileSync(join(dir, 'config.json'), '{"format":"other"}');
    await expect(loadCheckpoint(dir)).rejects.toThrow(/has format 'other', expected 'mrlseg-checkpoint'/);
  });
  it('refuses a model without a spec', async () => {
    const x = tf.input({ shape: [4] });
    const m = tf.model({ inputs: x, outputs: tf.layers.dense({ units: 1 }).apply(x) as tf.SymbolicTensor });
    await expect(saveCheckpoint(m, join(root, 'nospec'))).rejects.toThrow(/saveCheckpoint: the model has no spec/);
    m.dispose();
  });
});
