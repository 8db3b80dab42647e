/**
 * Mask-out augmentation of the Segmentation-Net's pre-training (training.maskOut; issue 15,
 * docs/rl-formulations.md). Not part of Yang et al. (MRL-Seg, IEEE JBHI 2024). The agent's action
 * replaces pixels by rl.maskValue (Eq. 1's represented image). A network pre-trained on raw images
 * has never seen such regions, and on the known-answer benchmark it loses Dice to dense masking even
 * where no lesion is touched (docs/results.md, section 4.9: masking every unit without a lesion pixel
 * took a frozen network from 35.6 to 13.9 % Dice). With mask-out, each pre-training image gets a share,
 * drawn uniformly from [0, maxShare], of its units that hold no foreground pixel masked exactly as the
 * agent masks (same units: rl.unitSize squares, or superpixels with rl.unitShape 'superpixel'; same
 * value). Foreground is never masked, so the network learns that masked regions hold no lesion,
 * which is what a good agent's masks mean; no budget changes (the same pre-training updates).
 */
import * as tf from '@tensorflow/tfjs';
import type { RlConfig } from '@mrlseg/types';
import { partitionUnits, patchUnits, representState, superpixelPartition, type UnitMap } from '@mrlseg/rl-core';
import { makeRng } from '@mrlseg/data';

/**
 * The batch with mask-out applied.
 * @param images - B x H x W x 1 images in [0, 1]; @param labels - B x H x W x 1 ground truth (0/1).
 * @param rl - the unit shape, size, superpixel compactness and mask value of the agent.
 * @param maxShare - the largest share of an image's lesion-free units that is masked, in [0, 1].
 * @param seed - the stream of this batch (a mix of run seed, epoch and step).
 * @returns a new B x H x W x 1 tensor (the caller disposes it) and the masked share of pixels.
 */
export function maskOutBatch(
  images: tf.Tensor4D,
  labels: tf.Tensor4D,
  rl: Pick<RlConfig, 'unitShape' | 'unitSize' | 'superpixelCompactness' | 'maskValue'>,
  maxShare: number,
  seed: number,
): { images: tf.Tensor4D; maskedFraction: number } {
  const fn = 'maskOutBatch';
  if (!(maxShare >= 0 && maxShare <= 1)) throw new RangeError(`${fn}: maxShare must be in [0, 1], got ${maxShare}`);
  if (images.rank !== 4 || labels.rank !== 4 || images.shape.join() !== labels.shape.join()) {
    throw new RangeError(`${fn}: images and labels must be B x H x W x 1 tensors of the same shape, got [${images.shape}] and [${labels.shape}]`);
  }
  const [b, h, w] = images.shape;
  const n = h * w;
  const px = rl.unitShape === 'superpixel' ? images.dataSync() : null;
  const lab = labels.dataSync();
  const rng = makeRng(seed);
  const keep = new Float32Array(b * n).fill(1);
  let masked = 0;
  for (let k = 0; k < b; k++) {
    const units: UnitMap = px ? partitionUnits(superpixelPartition(px.subarray(k * n, (k + 1) * n), h, w, rl.unitSize, rl.superpixelCompactness)) : patchUnits(h, w, rl.unitSize);
    const lesion = new Uint8Array(units.count);
    for (let i = 0; i < n; i++) if (lab[k * n + i] > 0.5) lesion[units.ids[i]] = 1;
    const share = rng() * maxShare;
    const off = Array.from({ length: units.count }, (_, u) => !lesion[u] && rng() < share);
    for (let i = 0; i < n; i++) {
      if (off[units.ids[i]]) {
        keep[k * n + i] = 0;
        masked++;
      }
    }
  }
  const out = tf.tidy(() => representState(images, tf.tensor4d(keep, [b, h, w, 1]), rl.maskValue) as tf.Tensor4D);
  return { images: out, maskedFraction: masked / (b * n) };
}
