/**
 * The validation split of a run (issue 15): a share of the training patients held out for the
 * curves and the model selection, so that nothing is chosen on the held-out test fold. The split
 * depends only on the patients' ids and the fraction (not on the run's seed), so every run of a
 * fold, and the pre-training they share, sees the same split.
 */
import type { Slice } from './batches';

/** FNV-1a hash of a string (32 bits): a seed-free, stable order of the patients. */
function hashId(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/**
 * Splits training slices by patient: round(fraction x patients) patients (at least 1 when the
 * fraction is > 0 and there are 2 or more patients) go to `val`, the rest to `fit`. The held-out
 * patients are spread over the range of lesion sizes: patients are ordered by their mean fbRatio
 * (ties by a hash of the id) and picked at evenly spaced ranks, so that validation Dice is not
 * decided by a few patients with the tiniest lesions.
 */
export function splitValidation<T extends Pick<Slice, 'patient'> & { meta?: { fbRatio?: number } }>(slices: readonly T[], fraction: number): { fit: T[]; val: T[] } {
  if (!(fraction >= 0 && fraction <= 0.5)) throw new RangeError(`splitValidation: fraction must lie in [0, 0.5], got ${fraction}`);
  const fb = new Map<string, { sum: number; n: number }>();
  for (const s of slices) {
    const e = fb.get(s.patient) ?? { sum: 0, n: 0 };
    e.sum += s.meta?.fbRatio ?? 0;
    e.n++;
    fb.set(s.patient, e);
  }
  const meanFb = (p: string) => fb.get(p)!.sum / fb.get(p)!.n;
  const patients = [...fb.keys()].sort((a, b) => meanFb(a) - meanFb(b) || hashId(a) - hashId(b) || (a < b ? -1 : a > b ? 1 : 0));
  const n = fraction > 0 && patients.length >= 2 ? Math.max(1, Math.round(fraction * patients.length)) : 0;
  const held = new Set(Array.from({ length: n }, (_, i) => patients[Math.min(patients.length - 1, Math.floor(((i + 0.5) * patients.length) / n))]));
  return { fit: slices.filter((s) => !held.has(s.patient)), val: slices.filter((s) => held.has(s.patient)) };
}
