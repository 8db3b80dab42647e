/** Issue 15's known-answer distractors in the synthetic generator. */
import { describe, expect, it } from 'vitest';
import { generateSyntheticSlice } from '../src/index';

describe('synthetic distractors', () => {
  const opts = { count: 16, slicesPerPatient: 4, size: 64, seed: 7 };
  it('are unlabelled, disjoint from the lesion, reproducible, and absent unless asked for', () => {
    let total = 0;
    for (let i = 0; i < opts.count; i++) {
      const s = generateSyntheticSlice({ ...opts, distractors: 2 }, i);
      const again = generateSyntheticSlice({ ...opts, distractors: 2 }, i);
      expect(Array.from(again.distractor!)).toEqual(Array.from(s.distractor!));
      const d = s.distractor!;
      for (let k = 0; k < d.length; k++) if (d[k]) expect(s.mask[k]).toBe(0);
      total += d.reduce((a, b) => a + b, 0);
      // The lesion label is the same with or without distractors.
      expect(Array.from(generateSyntheticSlice(opts, i).mask)).toEqual(Array.from(s.mask));
    }
    expect(total / opts.count).toBeGreaterThan(10);
    expect(generateSyntheticSlice(opts, 0).distractor).toBeUndefined();
    expect(() => generateSyntheticSlice({ ...opts, distractors: 9 }, 0)).toThrow(/distractors must be an integer in \[0, 8\]/);
  });

  it('carry the lesion intensity of the patient (bright or dark like the lesion)', () => {
    const s = generateSyntheticSlice({ ...opts, distractors: 2 }, 5);
    const mean = (sel: (k: number) => boolean) => {
      let sum = 0;
      let n = 0;
      for (let k = 0; k < s.image.length; k++) {
        if (!sel(k)) continue;
        sum += s.image[k];
        n++;
      }
      return sum / n;
    };
    const organLevel = 150;
    const lesion = mean((k) => s.mask[k] === 1);
    const distractor = mean((k) => s.distractor![k] === 1);
    expect(Math.sign(distractor - organLevel)).toBe(Math.sign(lesion - organLevel));
  });
});
