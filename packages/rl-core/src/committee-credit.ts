/**
 * Committee credit of the unit formulations (rl.creditNet 'snapshots'; issue 15,
 * docs/rl-formulations.md): a unit's credit is the mean of its counterfactual credit
 * ({@link computeCounterfactualCredit}) over a committee of Segmentation-Nets,
 *   C_u = (1 / K) sum_k C_u(net_k),
 * with the same actions `a`, objective, mask bonus and lesion veto for every member. Not an
 * equation of Yang et al. (MRL-Seg, IEEE JBHI 2024), whose reward asks the one network being
 * trained. Why: the credit of masking a distractor is the false positives it removes, so a single
 * network that happens to ignore a distractor gives it a credit of about 0 ("keep"), although the
 * same network fired on it a few epochs earlier and may again once it fine-tunes. Measured on the
 * known-answer benchmark's development data (docs/results.md, section 4.11): the demo's
 * Segmentation-Net fires on 0 to 34 distractor pixels per held-out slice from one pre-training
 * epoch to the next. A committee of snapshots taken along pre-training asks "is this a structure a
 * Segmentation-Net of this data mistakes for a lesion?", which is the question the agent exists to
 * answer. A committee of one is exactly {@link computeCounterfactualCredit}.
 *
 * rl.creditCommittee 'max' takes the largest member credit instead of the mean,
 *   C_u = max_k C_u(net_k):
 * "does masking u help any member". Measured (section 4.11): the mean adds no distractor labels,
 * because the members that fire on a distractor are outvoted; the maximum over six snapshots
 * labels 81-98 % of the distractor units "mask", and 17-29 % of the lesion units with them, which
 * rl.lesionVeto turns back to "keep" (its veto is in every member's credit, so in the maximum).
 *
 * rl.creditCommittee 'quorum' takes the q-th largest member credit (q = rl.creditQuorum),
 *   C_u = the q-th largest of C_u(net_1), ..., C_u(net_K),
 * so C_u > rl.creditMargin exactly when at least q members gain more than the margin from masking
 * u: 'max' is a quorum of 1. Why: the maximum labels every distractor but also the plain background
 * that one weak early member fires on (section 4.12); a quorum asks that the mistake be shared.
 *
 * rl.creditLastVeto lets the last member, the pre-trained network (the one the masked images are
 * given to when the Segmentation-Net is frozen, and the start of its fine-tuning otherwise), veto:
 * where its own credit C_u(net_K) is <= 0, C_u = min(C_u, C_u(net_K)), so the unit is labelled
 * "keep" whatever the other members gain. Why: the members' labels are the question
 * "is this a structure some network of this data mistakes for a lesion?", but a mask that costs the
 * network being served costs Dice. Measured (docs/results.md, section 4.14): on held-out slices,
 * masking exactly the units the quorum of two labels "mask" cost the frozen final network Dice in
 * one development seed (-5.7 points) where masking its own labels gained 2.8.
 * @param nets - the committee (at least one Segmentation-Net: B x H x W x 1 -> probability).
 * @param images - B x H x W x 1 raw images; @param labels - B x H x W x 1 ground truth.
 * @param units - the unit map of each image; @param masked - per image, per unit: masked in `a`?
 * @returns per image, the mean (or, rl.creditCommittee 'max', the largest; 'quorum', the q-th largest; vetoed by the last member with rl.creditLastVeto) C_u per unit (Q's units: nats or Dice points; > 0: masking u is better).
 */
import type * as tf from '@tensorflow/tfjs';
import { computeCounterfactualCredit } from './counterfactual-credit';
import type { UnitMap } from './units';

type CommitteeOptions = { creditCommittee?: 'mean' | 'max' | 'quorum'; creditQuorum?: number; creditLastVeto?: boolean };

/** Which order statistic of the members' credits rl.creditCommittee asks for (0: their mean), validated against the committee's size. */
function committeeRank(rl: CommitteeOptions, size: number, fn: string): number {
  const reduce = rl.creditCommittee ?? 'mean';
  if (reduce !== 'mean' && reduce !== 'max' && reduce !== 'quorum') throw new RangeError(`${fn}: rl.creditCommittee must be 'mean', 'max' or 'quorum', got '${String(reduce)}'`);
  if (reduce === 'mean') return 0;
  // 'max' is the quorum of one.
  const q = reduce === 'quorum' ? (rl.creditQuorum ?? 2) : 1;
  if (size > 1 && (!Number.isInteger(q) || q < 1 || q > size)) {
    throw new RangeError(`${fn}: rl.creditQuorum must be an integer from 1 to the committee's size ${size}, got ${q}`);
  }
  return q;
}

/**
 * The committee's credit from its members' credits (the combination step of
 * {@link computeCommitteeCredit}, for callers that already hold the members' credits, such as the
 * label oracles of bench/pretrain-trajectory.ts).
 * @param members - per member (the last being the pre-trained network), per image, C_u per unit.
 * @returns per image, per unit: the mean, the rl.creditQuorum-th largest ('max': the largest), then the last member's veto if rl.creditLastVeto.
 */
export function combineCommitteeCredits(members: readonly (readonly Float64Array[])[], rl: CommitteeOptions): Float64Array[] {
  const fn = 'combineCommitteeCredits';
  if (!Array.isArray(members as unknown) || members.length === 0) throw new RangeError(`${fn}: members must hold at least one member's credits, got ${Array.isArray(members as unknown) ? 0 : typeof members}`);
  const shape = members[0].map((c) => c.length).join(',');
  members.forEach((m, j) => {
    if (m.map((c) => c.length).join(',') !== shape) throw new RangeError(`${fn}: member ${j} has units per image [${m.map((c) => c.length).join(', ')}], member 0 [${shape}]`);
  });
  const q = committeeRank(rl, members.length, fn);
  // A committee of one is its member, whatever the combination.
  if (members.length === 1) return members[0].map((c) => Float64Array.from(c));
  const combine = q === 0 ? (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length : (v: number[]) => v.sort((a, b) => b - a)[q - 1];
  const last = members[members.length - 1];
  const veto = rl.creditLastVeto === true;
  return members[0].map((c0, k) =>
    Float64Array.from({ length: c0.length }, (_, s) => {
      const c = combine(members.map((m) => m[k][s]));
      return veto && !(last[k][s] > 0) ? Math.min(c, last[k][s]) : c;
    }),
  );
}

export function computeCommitteeCredit(
  nets: readonly tf.LayersModel[],
  images: tf.Tensor4D,
  labels: tf.Tensor4D,
  units: UnitMap[],
  masked: boolean[][],
  rl: Parameters<typeof computeCounterfactualCredit>[5] & CommitteeOptions,
): Float64Array[] {
  if (!Array.isArray(nets) || nets.length === 0) throw new RangeError(`computeCommitteeCredit: nets must hold at least one Segmentation-Net, got ${Array.isArray(nets) ? 0 : typeof nets}`);
  // Refuse a bad combination before any forward pass.
  committeeRank(rl, nets.length, 'computeCommitteeCredit');
  // A committee of one (rl.creditNet other than 'snapshots') is its member, whatever the combination.
  if (nets.length === 1) return computeCounterfactualCredit(nets[0], images, labels, units, masked, rl);
  return combineCommitteeCredits(
    nets.map((net) => computeCounterfactualCredit(net, images, labels, units, masked, rl)),
    rl,
  );
}
