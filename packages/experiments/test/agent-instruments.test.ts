/** Issue 15's instruments and validation split: hand-worked values. */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { countMasked, emptyMaskedCounts, falsePositiveComponents, gradientCosine, maskedFractions } from '../src/index';
import { splitValidation } from '../src/pipeline/validation-split';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('masked fractions by class', () => {
  it('counts lesion, distractor and other background pixels separately', () => {
    // retained: 1 kept, 0 masked
    const retained = [1, 0, 0, 1, 0, 1, 1, 0];
    const label = [1, 1, 0, 0, 0, 0, 0, 0];
    const distractor = [0, 0, 1, 1, 0, 0, 0, 0];
    const c = countMasked(emptyMaskedCounts(), retained, label, distractor);
    expect(c).toEqual({ lesion: 2, lesionMasked: 1, distractor: 2, distractorMasked: 1, other: 4, otherMasked: 2 });
    const f = maskedFractions(c);
    expect(f).toEqual({ lesion: 0.5, distractor: 0.5, other: 0.5, all: 0.5 });
    // Without distractors the distractor class is empty (NaN), the rest is "other".
    const g = maskedFractions(countMasked(emptyMaskedCounts(), retained, label));
    expect(Number.isNaN(g.distractor)).toBe(true);
    expect(g.other).toBeCloseTo(3 / 6, 12);
    expect(() => countMasked(emptyMaskedCounts(), [1], [1, 0])).toThrow(/countMasked/);
  });

  it('falsePositiveComponents keeps the predicted components that touch no lesion pixel', () => {
    // 4 x 4: component A (0,0)-(0,1) touches the lesion at (0,1); component B (2,3),(3,2) (diagonal: one 8-connected component) does not.
    const pred = [1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 1, 0];
    const label = [0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    expect(Array.from(falsePositiveComponents(pred, label, 4, 4))).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 1, 0]);
  });

  it('gradientCosine: 1 for parallel, -1 for opposite, 0 for orthogonal gradients; skips weights without a gradient', () => {
    const a = [tf.tensor1d([1, 2]), tf.tensor2d([[3]])];
    const b = [tf.tensor1d([2, 4]), tf.tensor2d([[6]])];
    const c = [tf.tensor1d([-1, -2]), tf.tensor2d([[-3]])];
    const d = [tf.tensor1d([2, -1]), tf.tensor2d([[0]])];
    expect(gradientCosine(a, b)).toBeCloseTo(1, 6);
    expect(gradientCosine(a, c)).toBeCloseTo(-1, 6);
    expect(gradientCosine(a, d)).toBeCloseTo(0, 6);
    expect(gradientCosine([a[0], null], [b[0], b[1]])).toBeCloseTo(1, 6);
    tf.dispose([...a, ...b, ...c, ...d]);
  });
});

describe('validation split', () => {
  const slices = Array.from({ length: 40 }, (_, i) => ({ patient: `p${Math.floor(i / 4)}`, i }));
  it('holds out whole patients, the same ones whatever the order, and nothing at fraction 0', () => {
    const { fit, val } = splitValidation(slices, 0.2);
    const valPatients = new Set(val.map((s) => s.patient));
    expect(valPatients.size).toBe(2); // round(0.2 x 10)
    expect(fit.some((s) => valPatients.has(s.patient))).toBe(false);
    expect(fit.length + val.length).toBe(40);
    const again = splitValidation([...slices].reverse(), 0.2);
    expect(new Set(again.val.map((s) => s.patient))).toEqual(valPatients);
    expect(splitValidation(slices, 0).val).toEqual([]);
    expect(splitValidation(slices.slice(0, 4), 0.15).val).toEqual([]); // one patient: nothing to hold out
    expect(() => splitValidation(slices, 0.9)).toThrow(/splitValidation: fraction/);
  });

  it('spreads the held-out patients over the range of lesion sizes', () => {
    // Patient k has fbRatio k / 100; 0.2 of 10 patients = 2, at ranks floor(0.5 x 10 / 2) = 2 and floor(1.5 x 10 / 2) = 7.
    const withFb = Array.from({ length: 20 }, (_, i) => ({ patient: `q${9 - Math.floor(i / 2)}`, meta: { fbRatio: (9 - Math.floor(i / 2)) / 100 } }));
    const { val } = splitValidation(withFb, 0.2);
    expect([...new Set(val.map((s) => s.patient))].sort()).toEqual(['q2', 'q7']);
  });
});
