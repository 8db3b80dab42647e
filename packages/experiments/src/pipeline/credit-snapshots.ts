/**
 * rl.creditNet 'snapshots' (issue 15, docs/rl-formulations.md): which pre-training epochs give the
 * credit committee its members, and how a member is taken. The committee's credit itself is
 * @mrlseg/rl-core's computeCommitteeCredit.
 */
import type * as tf from '@tensorflow/tfjs';
import type { RlConfig } from '@mrlseg/types';

/**
 * The 0-based pre-training epochs after which a committee member is taken: round(k E / K) - 1 for
 * k = 1..K, so members are evenly spaced and the last is the pre-trained network (epoch E - 1).
 * Epochs that round to the same one count once.
 * @param epochs - E, pre-training epochs (training.epochs, >= 1).
 * @param size - K, rl.creditSnapshots (>= 1).
 */
export function creditSnapshotEpochs(epochs: number, size: number): number[] {
  if (!Number.isInteger(epochs) || epochs < 1) throw new RangeError(`creditSnapshotEpochs: epochs must be a positive integer, got ${epochs}`);
  if (!Number.isInteger(size) || size < 1) throw new RangeError(`creditSnapshotEpochs: size must be a positive integer, got ${size}`);
  const out = new Set<number>();
  for (let k = 1; k <= size; k++) out.add(Math.max(0, Math.round((k * epochs) / size) - 1));
  return [...out].sort((a, b) => a - b);
}

/** The members taken before the end of pre-training (the last member is the pre-trained network itself, already at hand). */
export function earlierSnapshotEpochs(epochs: number, size: number): number[] {
  return creditSnapshotEpochs(epochs, size).filter((e) => e < epochs - 1);
}

/** A frozen copy of `seg` (weights and batch-norm statistics) in a fresh network from `build` (same architecture). */
export function copySegNet(seg: tf.LayersModel, build: () => tf.LayersModel): tf.LayersModel {
  const copy = build();
  copy.setWeights(seg.getWeights());
  return copy;
}

/**
 * Refuses, before any training, an rl.creditQuorum larger than the committee it counts in
 * (rl.creditCommittee 'quorum' with rl.creditNet 'snapshots'), which computeCommitteeCredit would
 * only reject at the first agent update, after pre-training. The committee's size is the number of
 * distinct snapshot epochs ({@link creditSnapshotEpochs}), which can be below rl.creditSnapshots when
 * pre-training is short.
 * @param rl - the config's rl section; @param epochs - training.epochs; @param caller - named in the error.
 */
export function checkCreditQuorum(rl: Pick<RlConfig, 'creditNet' | 'creditCommittee' | 'creditQuorum' | 'creditSnapshots'>, epochs: number, caller: string): void {
  if (rl.creditNet !== 'snapshots' || rl.creditCommittee !== 'quorum' || !(epochs >= 1)) return;
  const size = creditSnapshotEpochs(epochs, rl.creditSnapshots).length;
  if (size > 1 && rl.creditQuorum > size) {
    throw new RangeError(
      `${caller}: rl.creditQuorum must be at most the committee's size ${size} (rl.creditSnapshots ${rl.creditSnapshots} over training.epochs ${epochs}), got ${rl.creditQuorum}`,
    );
  }
}
