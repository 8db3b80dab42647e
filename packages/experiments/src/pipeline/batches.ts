/**
 * In-memory training data of one run: preprocessed slices as Float32 images and binary masks,
 * seeded shuffling and augmentation per epoch (so epoch e sees the same batches whether or not the
 * run was interrupted before it), and B x S x S x 1 tensors for the networks.
 */
import * as tf from '@tensorflow/tfjs';
import type { AugmentationConfig } from '@mrlseg/types';
import { augmentSample, makeRng, mixSeed, type Sample } from '@mrlseg/data';

export interface Slice {
  id: string;
  patient: string;
  image: Float32Array;
  mask: Uint8Array;
  size: number;
  /** The sample's metadata (fbRatio at the original resolution, source files). */
  meta: Sample['meta'];
  /** Known distractor pixels (synthetic `distractors`), for evaluation only; see Sample.distractor. */
  distractor?: Uint8Array;
}

export function toSlice(s: Sample): Slice {
  if (s.width !== s.height) throw new Error(`sample ${s.meta.id}: preprocessing gave ${s.width}x${s.height}, expected a square`);
  return { id: s.meta.id, patient: s.meta.patient, image: s.image, mask: s.mask, size: s.width, meta: s.meta, ...(s.distractor ? { distractor: s.distractor } : {}) };
}

/** Phase numbers mixed into seeds. */
export const PHASE_SEED = { pretrain: 1, rl: 2, order: 3, augment: 4, eval: 5 } as const;

/** Fisher-Yates order of 0..n-1 for (seed, phase, epoch). */
export function epochOrder(n: number, seed: number, phase: number, epoch: number): number[] {
  const rng = makeRng(mixSeed(seed, PHASE_SEED.order, phase, epoch));
  const idx = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [idx[i], idx[j]] = [idx[j], idx[i]];
  }
  return idx;
}

/** Batches of indices covering `order`; the last batch may be smaller. */
export function batchesOf(order: number[], batchSize: number): number[][] {
  const out: number[][] = [];
  for (let i = 0; i < order.length; i += batchSize) out.push(order.slice(i, i + batchSize));
  return out;
}

/** The raw (un-augmented) images B x S x S x 1 of the slices at `idx`, for callers that need no labels. */
export function makeImageBatch(slices: readonly Slice[], idx: readonly number[]): tf.Tensor4D {
  const s = slices[idx[0]].size;
  const img = new Float32Array(idx.length * s * s);
  idx.forEach((k, b) => img.set(slices[k].image, b * s * s));
  return tf.tensor4d(img, [idx.length, s, s, 1]);
}

/**
 * Images and labels B x S x S x 1 for the slices at `idx`; with `augment`, each slice is augmented
 * with a stream seeded by (seed, phase, epoch, its position in the data set).
 */
export function makeBatch(
  slices: readonly Slice[],
  idx: readonly number[],
  aug: { config: AugmentationConfig; seed: number; phase: number; epoch: number } | null,
): { images: tf.Tensor4D; labels: tf.Tensor4D } {
  const s = slices[idx[0]].size;
  const px = s * s;
  const img = new Float32Array(idx.length * px);
  const lab = new Float32Array(idx.length * px);
  idx.forEach((k, b) => {
    let { image, mask } = slices[k];
    if (aug && aug.config.enabled) {
      const r = augmentSample(image, mask, s, aug.config, makeRng(mixSeed(aug.seed, PHASE_SEED.augment, aug.phase, aug.epoch, k)));
      image = r.image;
      mask = r.mask;
    }
    img.set(image, b * px);
    for (let i = 0; i < px; i++) lab[b * px + i] = mask[i];
  });
  return { images: tf.tensor4d(img, [idx.length, s, s, 1]), labels: tf.tensor4d(lab, [idx.length, s, s, 1]) };
}
