/**
 * Counterfactual credit of the unit formulations (rl.credit 'counterfactual' / 'candidates'; issue
 * 15): for each unit u of an image whose units took the actions a (some masked), the value of
 * masking u minus the value of keeping it, all other units' actions fixed,
 *   C_u = Q(a with u masked) - Q(a with u kept),
 * with Q the image-level objective rl.objective names (@mrlseg/rewards): 'ce' = computeStateValue
 * (Eq. 3 times N, ADP as a pixel weight; nats), 'dice' = computeDiceStateValue (soft Dice, Dice points),
 * 'ce-safe' = the 'ce' credit vetoed by the plain soft-Dice credit (computeSafeCredit). One of the two states is `a` itself; the other is `a` with u flipped, so an image
 * with U units needs U + 1 Segmentation-Net forward passes, run in batches. Unlike the shared
 * reward of the pixel-wise formulation, C_u depends on u's own action only (a difference reward),
 * and the FB term enters per unit: it is the change of alpha f(x) that u's own action causes.
 * rl.maskBonus b adds a constant prior for masking to every unit: C_u + b ('ce', 'dice'), or the
 * bonus inside the veto ('ce-safe', computeSafeCredit). Then a unit is labelled "mask" unless masking
 * it alone costs more than b: the paper's FB prior (mask background) as a per-unit constant, with the
 * counterfactual value as the veto (docs/rl-formulations.md). rl.lesionVeto makes every unit that
 * holds a ground-truth foreground pixel -(|C_u| + b): "keep", with at least the bonus as weight.
 */
import * as tf from '@tensorflow/tfjs';
import type { RlConfig } from '@mrlseg/types';
import { computeAdp, computeDiceStateValue, computeStateValue, fbOptionsFromConfig } from '@mrlseg/rewards';
import { forwardSegmentation } from './networks';
import { computeSafeCredit } from './safe-credit';
import { representState } from './environment';
import { foregroundUnits, type UnitMap } from './units';

/** Segmentation-Net forward passes per batch when evaluating the counterfactual states. */
export const COUNTERFACTUAL_CHUNK = 64;

/**
 * C_u for every unit of every image.
 * @param images - B x H x W x 1 raw images; @param labels - B x H x W x 1 ground truth.
 * @param units - the unit map of each image; @param masked - per image, per unit: masked in `a`?
 * @returns per image, C_u per unit (in Q's units: nats or Dice points; > 0: masking u is better).
 */
export function computeCounterfactualCredit(
  segNet: tf.LayersModel,
  images: tf.Tensor4D,
  labels: tf.Tensor4D,
  units: UnitMap[],
  masked: boolean[][],
  rl: Pick<RlConfig, 'alpha' | 'beta' | 'fbEps' | 'fbScale' | 'useFb' | 'useAdp' | 'adpWindow' | 'maskValue'> & Partial<Pick<RlConfig, 'objective' | 'diceTolerance' | 'maskBonus' | 'lesionVeto'>>,
  chunk = COUNTERFACTUAL_CHUNK,
): Float64Array[] {
  const fn = 'computeCounterfactualCredit';
  const [b, h, w] = images.shape;
  if (units.length !== b || masked.length !== b) throw new RangeError(`${fn}: units and masked must have one entry per image (${b}), got ${units.length} and ${masked.length}`);
  units.forEach((u, k) => {
    if (masked[k].length !== u.count) throw new RangeError(`${fn}: masked[${k}] must hold one decision per unit (${u.count}), got ${masked[k].length}`);
  });
  const n = h * w;
  // The list of states: per image, `a` itself, then `a` with unit u flipped for each u.
  const jobs: { image: number; flip: number }[] = [];
  units.forEach((u, k) => {
    jobs.push({ image: k, flip: -1 });
    for (let q = 0; q < u.count; q++) jobs.push({ image: k, flip: q });
  });
  const fb = fbOptionsFromConfig(rl);
  const adpAll = rl.useAdp ? computeAdp(labels, rl.adpWindow) : null;
  const value = rl.objective === 'dice' ? computeDiceStateValue : computeStateValue;
  const safe = rl.objective === 'ce-safe';
  const tolerance = rl.diceTolerance ?? 0.01;
  const bonus = rl.maskBonus ?? 0;
  if (!(bonus >= 0) || !Number.isFinite(bonus)) throw new RangeError(`${fn}: rl.maskBonus must be a finite number >= 0, got ${bonus}`);
  const values = new Float64Array(jobs.length);
  // 'ce-safe': the plain soft Dice of every state too (no FB, no ADP), from the same forward pass.
  const diceValues = safe ? new Float64Array(jobs.length) : null;
  try {
    for (let s = 0; s < jobs.length; s += chunk) {
      const part = jobs.slice(s, s + chunk);
      const keep = new Float32Array(part.length * n);
      part.forEach((j, r) => {
        const u = units[j.image];
        const m = masked[j.image];
        for (let i = 0; i < n; i++) {
          const id = u.ids[i];
          const isMasked = id === j.flip ? !m[id] : m[id];
          keep[r * n + i] = isMasked ? 0 : 1;
        }
      });
      const q = tf.tidy(() => {
        const idx = tf.tensor1d(part.map((j) => j.image), 'int32');
        const img = tf.gather(images, idx) as tf.Tensor4D;
        const lab = tf.gather(labels, idx) as tf.Tensor4D;
        const retained = tf.tensor4d(keep, [part.length, h, w, 1]);
        const prob = forwardSegmentation(segNet, representState(img, retained, rl.maskValue));
        const v = value(prob, lab, retained, { fb, adp: adpAll ? (tf.gather(adpAll, idx) as tf.Tensor4D) : null });
        return safe ? [v, computeDiceStateValue(prob, lab, retained, { fb: { ...fb, enabled: false }, adp: null })] : [v];
      });
      values.set(q[0].dataSync(), s);
      if (diceValues) diceValues.set(q[1].dataSync(), s);
      tf.dispose(q);
    }
  } finally {
    adpAll?.dispose();
  }
  // rl.lesionVeto: which units hold a foreground pixel of the ground truth.
  const lv = rl.lesionVeto ? labels.dataSync() : null;
  const out: Float64Array[] = [];
  let p = 0;
  units.forEach((u, k) => {
    const at = p;
    const base = values[p++];
    const hasLesion = lv ? foregroundUnits(u, lv, k * n) : null;
    const c = new Float64Array(u.count);
    for (let q = 0; q < u.count; q++) {
      const flipped = values[p++];
      const raw = masked[k][q] ? base - flipped : flipped - base;
      if (hasLesion?.[q]) c[q] = -(Math.abs(raw) + bonus);
      else if (diceValues) {
        const d = diceValues[at + 1 + q] - diceValues[at];
        c[q] = computeSafeCredit(raw, masked[k][q] ? -d : d, tolerance, bonus);
      } else c[q] = raw + bonus;
    }
    out.push(c);
  });
  return out;
}
