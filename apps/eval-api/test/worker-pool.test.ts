/** The inference worker pool: outputs from worker threads, bounded size, errors named. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InferenceWorkerPool } from '../src/index';
import { writeTinyModel } from './helpers/tiny-onnx';

let tmp: string;
let model: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'mrlseg-pool-'));
  model = writeTinyModel(join(tmp, 'tiny.onnx'), { size: 4, actions: true });
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('InferenceWorkerPool', () => {
  it('inspects and runs a model off the main thread, never starting more than `size` workers', async () => {
    const pool = new InferenceWorkerPool(2, 1);
    try {
      expect(pool.started).toBe(0);
      const info = await pool.inspect(model);
      expect(info.inputs.map((i) => [i.name, i.shape])).toEqual([['image', ['batch', 4, 4, 1]]]);
      expect([...info.outputNames].sort()).toEqual(['actions', 'probabilities']);
      const x = (k: number) => Float32Array.from({ length: 16 }, (_, i) => (i + k) / 32);
      const runs = await Promise.all([0, 1, 2, 3, 4].map((k) => pool.run(model, 'image', x(k), [1, 4, 4, 1], ['probabilities', 'actions'])));
      runs.forEach((r, k) => {
        expect(r.outputs.probabilities.dims).toEqual([1, 4, 4, 1]);
        expect(Array.from(r.outputs.probabilities.data as Float32Array)).toEqual(Array.from(x(k)));
        // actions = 1 where the input < 0.1 (i + k < 3.2)
        expect(Array.from(r.outputs.actions.data as Float32Array)).toEqual(Array.from({ length: 16 }, (_, i) => (i + k < 3.2 ? 1 : 0)));
      });
      expect(pool.started).toBe(2);
    } finally {
      await pool.close();
    }
  });

  it('rejects with the reason for a file that is not a model, and keeps working', async () => {
    const pool = new InferenceWorkerPool(1, 1);
    try {
      const bad = join(tmp, 'bad.onnx');
      writeFileSync(bad, 'not a model');
      await expect(pool.inspect(bad)).rejects.toThrow(/protobuf|parse|load|model/i);
      expect((await pool.inspect(model)).outputNames).toContain('probabilities');
    } finally {
      await pool.close();
    }
  });

  it('needs a size >= 1', () => {
    expect(() => new InferenceWorkerPool(0, 1)).toThrow(/size must be an integer >= 1, got 0/);
  });
});
