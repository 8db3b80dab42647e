/**
 * The Dice-vetoed cross-entropy credit of rl.objective 'ce-safe' (issue 15,
 * docs/rl-formulations.md). Not an equation of Yang et al. (MRL-Seg, IEEE JBHI 2024): it keeps the
 * paper's reward, the change of summed pixel cross-entropy (Eq. 3-5 as a state value,
 * {@link computeStateValue}), and adds one constraint, because under extreme imbalance the two
 * measures disagree where it matters. Measured on the known-answer benchmark's development data
 * (docs/results.md, section 4.7):
 *  - the cross-entropy credit separates what should be masked from plain background (a distractor
 *    unit gains a median of 36-47 nats when the Segmentation-Net responds to it, a plain one about
 *    0), but rewards masking half of the lesion units that sit in over-segmented blobs;
 *  - the Dice credit never rewards masking lesions, but gives distractors hundredths of a point.
 * The combination, for one unit u:
 *   C_u = C_ce(u)         if C_dice(u) >= -tolerance,
 *   C_u = -|C_ce(u)|      otherwise (masking u costs Dice: the unit is labelled "keep"),
 * with C_ce in nats (the 'ce' objective, FB and ADP as configured) and C_dice in Dice points (plain
 * soft Dice, no FB, no ADP: the veto asks only "does masking u hurt the segmentation?").
 * With a mask bonus b (rl.maskBonus, nats; a per-unit prior for masking, applied in
 * computeCounterfactualCredit) C_ce is C_ce + b, and a vetoed unit gets -(|C_ce| + b): the bonus
 * makes "mask" the default, and must not turn a unit whose masking costs Dice into "mask".
 * @param ce - the unit's cross-entropy credit, nats.
 * @param dice - the unit's soft-Dice credit, Dice points (0..100 scale).
 * @param tolerance - the Dice drop allowed before the veto, Dice points (>= 0).
 * @param bonus - rl.maskBonus, nats (>= 0; default 0).
 * @returns the unit's credit, nats (> 0: mask).
 */
export function computeSafeCredit(ce: number, dice: number, tolerance: number, bonus = 0): number {
  if (!Number.isFinite(ce)) throw new RangeError(`computeSafeCredit: ce must be a finite number of nats, got ${ce}`);
  if (!Number.isFinite(dice)) throw new RangeError(`computeSafeCredit: dice must be a finite number of Dice points, got ${dice}`);
  if (!(tolerance >= 0) || !Number.isFinite(tolerance)) throw new RangeError(`computeSafeCredit: tolerance must be a finite number >= 0 (Dice points), got ${tolerance}`);
  if (!(bonus >= 0) || !Number.isFinite(bonus)) throw new RangeError(`computeSafeCredit: bonus must be a finite number >= 0 (nats), got ${bonus}`);
  return dice >= -tolerance ? ce + bonus : -(Math.abs(ce) + bonus);
}
