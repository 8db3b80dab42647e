import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DatasetSchema, PreprocessingSchema } from '@mrlseg/types';
import { countForeground, generateSynthetic, generateSyntheticSlice, loadSplit, makeFolds, openDataset, saveSplit, writeSyntheticDataset, type SampleRef } from '../src/index';
import { tempDir } from './fixtures';

const opts = { count: 120, slicesPerPatient: 6, size: 96, seed: 3 };

describe('synthetic generator', () => {
  it('is deterministic by seed and slice-local', () => {
    const a = generateSyntheticSlice(opts, 17);
    expect(generateSyntheticSlice(opts, 17)).toEqual(a);
    expect(generateSyntheticSlice({ ...opts, seed: 4 }, 17).image).not.toEqual(a.image);
    expect(generateSynthetic({ ...opts, count: 18 })[17].slice).toEqual(a);
  });
  it('lesion fbRatios span about 0.01 % to 10 % and every slice has a lesion', () => {
    const all = generateSynthetic({ ...opts, count: 600, size: 64 });
    const fb = all.map((s) => s.ref.fbRatio);
    expect(Math.min(...fb)).toBeLessThan(5e-4);
    expect(Math.max(...fb)).toBeGreaterThan(0.06);
    expect(Math.max(...fb)).toBeLessThan(0.12);
    expect(all.every((s) => s.ref.foregroundPixels > 0)).toBe(true);
    expect(new Set(all.map((s) => s.ref.patient)).size).toBe(100);
    // every CT interval 0-2, ..., 8-10 % is populated
    for (let i = 0; i < 5; i++) expect(fb.some((f) => f >= i * 0.02 && f < (i + 1) * 0.02)).toBe(true);
  });
  it('lesions are visibly brighter or darker than the organ around them (learnable)', () => {
    for (let i = 0; i < 60; i += 7) {
      const s = generateSyntheticSlice({ ...opts, size: 128 }, i);
      const n = s.width;
      let inSum = 0;
      let inN = 0;
      let ringSum = 0;
      let ringN = 0;
      for (let y = 2; y < n - 2; y++) for (let x = 2; x < n - 2; x++) {
        const p = y * n + x;
        if (s.mask[p]) { inSum += s.image[p]; inN++; continue; }
        // ring: background pixels within 2 px of the lesion
        let near = false;
        for (let dy = -2; dy <= 2 && !near; dy++) for (let dx = -2; dx <= 2; dx++) if (s.mask[p + dy * n + dx]) { near = true; break; }
        if (near) { ringSum += s.image[p]; ringN++; }
      }
      if (inN < 12) continue; // a few pixels: too noisy to compare means
      expect(Math.abs(inSum / inN - ringSum / ringN)).toBeGreaterThan(25);
    }
  });
  it('validates its options', () => {
    expect(() => generateSyntheticSlice({ ...opts, size: 8 }, 0)).toThrow(/generateSyntheticSlice: size must be at least 16/);
    expect(() => generateSyntheticSlice(opts, 120)).toThrow(/index must be an integer in \[0, 120\)/);
  });
  it('written to disk and read back (format synthetic) gives the same masks and fbRatios', async () => {
    const dir = join(tempDir(), 'synth');
    const o = { count: 10, slicesPerPatient: 5, size: 32, seed: 1 };
    await writeSyntheticDataset(dir, o);
    const refs = await openDataset(DatasetSchema.parse({ format: 'synthetic', root: dir })).list();
    const mem = await openDataset(DatasetSchema.parse({ format: 'synthetic', synthetic: o })).list();
    expect(refs.map((r) => [r.id, r.patient, r.slice, r.fbRatio])).toEqual(mem.map((r) => [r.id, r.patient, r.slice, r.fbRatio]));
    const ds = openDataset(DatasetSchema.parse({ format: 'synthetic', root: dir }));
    const s = await ds.load(refs[3], PreprocessingSchema.parse({ size: 32 }));
    expect(countForeground(s.mask)).toBe(refs[3].foregroundPixels);
    expect(s.image[0]).toBeCloseTo(generateSyntheticSlice(o, 3).image[0] / 255, 6);
  });
});

const ref = (patient: string, slice: number, fbRatio: number): SampleRef => ({
  id: `${patient}_${slice}`, patient, slice, format: 'folder', source: { mask: [] }, width: 10, height: 10,
  foregroundPixels: fbRatio > 0 ? 1 : 0, fbRatio, locator: {},
});

describe('makeFolds', () => {
  const refs: SampleRef[] = [];
  for (let p = 0; p < 24; p++) for (let s = 0; s < 1 + (p % 3); s++) refs.push(ref(`p${String(p).padStart(2, '0')}`, s, [0.005, 0.03, 0.07, 0][p % 4]));

  it('never puts one patient in two folds, covers every sample, is deterministic by seed', () => {
    const a = makeFolds(refs, { k: 4, seed: 1 });
    const patients = a.folds.flatMap((f) => f.patients);
    expect(new Set(patients).size).toBe(patients.length);
    expect(patients.length).toBe(24);
    expect(a.folds.flatMap((f) => f.samples).sort()).toEqual(refs.map((r) => r.id).sort());
    expect(makeFolds(refs, { k: 4, seed: 1 })).toEqual(a);
    expect(makeFolds(refs, { k: 4, seed: 2 })).not.toEqual(a);
  });
  it('stratifies by fbRatio interval: each fold gets its share of every stratum', () => {
    const split = makeFolds(refs, { k: 4, seed: 5, intervals: 'ct' });
    const stratumOf = (p: string) => Number(p.slice(1)) % 4;
    for (const f of split.folds) {
      const counts = [0, 0, 0, 0];
      for (const p of f.patients) counts[stratumOf(p)]++;
      for (const c of counts) expect(Math.abs(c - 6 / 4)).toBeLessThanOrEqual(0.5);
    }
  });
  it('rejects fewer patients than folds and bad k', () => {
    expect(() => makeFolds(refs.slice(0, 2), { k: 4 })).toThrow(/makeFolds: 2 patient\(s\) cannot fill k = 4 folds/);
    expect(() => makeFolds(refs, { k: 1 })).toThrow(/makeFolds: k must be an integer >= 2/);
  });
  it('round-trips through JSON and rejects a file with a patient in two folds', async () => {
    const file = join(tempDir(), 'split.json');
    const split = makeFolds(refs, { k: 3, seed: 9 });
    await saveSplit(file, split);
    expect(await loadSplit(file)).toEqual(split);
    const bad = structuredClone(split);
    bad.folds[1].patients.push(bad.folds[0].patients[0]);
    await saveSplit(file, bad);
    await expect(loadSplit(file)).rejects.toThrow(/patient 'p\d+' appears in folds 0 and 1/);
  });
});
