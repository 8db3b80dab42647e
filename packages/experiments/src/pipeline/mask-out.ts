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
import { foregroundUnits, plainUnitMaps, representState, retainedOfUnits } from '@mrlseg/rl-core';
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
  const [, h, w] = images.shape;
  const n = h * w;
  const lab = labels.dataSync();
  const rng = makeRng(seed);
  const units = plainUnitMaps(images, rl);
  let masked = 0;
  const off = units.map((u, k) => {
    const lesion = foregroundUnits(u, lab, k * n);
    const share = rng() * maxShare;
    const m = Array.from({ length: u.count }, (_, q) => !lesion[q] && rng() < share);
    m.forEach((isOff, q) => (masked += isOff ? u.sizes[q] : 0));
    return m;
  });
  const out = tf.tidy(() => representState(images, retainedOfUnits(units, off, h, w), rl.maskValue));
  return { images: out, maskedFraction: masked / (units.length * n) };
}
