/**
 * Instruments of the agent (issue 15 item 1): what the greedy policy masks, split by lesion,
 * distractor and other background pixels, and the cosine between the policy gradients of two
 * disjoint half-batches (a signal-to-noise figure: near 1 when the gradient is signal, near 0 when
 * it is noise).
 * "Distractor" is known for the synthetic known-answer data (Sample.distractor); on real data it is
 * a connected false-positive component of the pre-trained Segmentation-Net's prediction on the raw
 * image (8-connected components of p > 0.5 that touch no lesion pixel).
 */
import * as tf from '@tensorflow/tfjs';

/** Masked pixel counts of one or more images, by class. */
export interface MaskedCounts {
  lesion: number;
  lesionMasked: number;
  distractor: number;
  distractorMasked: number;
  other: number;
  otherMasked: number;
}

export const emptyMaskedCounts = (): MaskedCounts => ({ lesion: 0, lesionMasked: 0, distractor: 0, distractorMasked: 0, other: 0, otherMasked: 0 });

/**
 * Adds one image's counts to `acc`.
 * @param retained - 1 kept, 0 masked (H x W row-major); @param label - lesion mask; @param distractor - distractor pixels (optional).
 */
export function countMasked(acc: MaskedCounts, retained: ArrayLike<number>, label: ArrayLike<number>, distractor?: ArrayLike<number>): MaskedCounts {
  const n = retained.length;
  if (label.length !== n || (distractor && distractor.length !== n)) throw new RangeError(`countMasked: retained, label and distractor must have the same length (${n})`);
  for (let i = 0; i < n; i++) {
    const m = retained[i] < 0.5 ? 1 : 0;
    if (label[i] > 0.5) {
      acc.lesion++;
      acc.lesionMasked += m;
    } else if (distractor && distractor[i] > 0.5) {
      acc.distractor++;
      acc.distractorMasked += m;
    } else {
      acc.other++;
      acc.otherMasked += m;
    }
  }
  return acc;
}

/** Fractions masked (NaN where a class has no pixel). */
export function maskedFractions(c: MaskedCounts): { lesion: number; distractor: number; other: number; all: number } {
  const f = (m: number, n: number) => (n > 0 ? m / n : NaN);
  return {
    lesion: f(c.lesionMasked, c.lesion),
    distractor: f(c.distractorMasked, c.distractor),
    other: f(c.otherMasked, c.other),
    all: f(c.lesionMasked + c.distractorMasked + c.otherMasked, c.lesion + c.distractor + c.other),
  };
}

/**
 * Connected false-positive components (8-connectivity) of a binary prediction: predicted pixels
 * whose component holds no lesion pixel. The real-data definition of "distractor".
 * @returns H x W, 1 on those pixels.
 */
export function falsePositiveComponents(pred: ArrayLike<number>, label: ArrayLike<number>, height: number, width: number): Uint8Array {
  const n = height * width;
  if (pred.length !== n || label.length !== n) throw new RangeError(`falsePositiveComponents: pred and label must hold height * width = ${n} values`);
  const out = new Uint8Array(n);
  const seen = new Uint8Array(n);
  const comp: number[] = [];
  for (let s = 0; s < n; s++) {
    if (!(pred[s] > 0.5) || seen[s]) continue;
    comp.length = 0;
    let touches = false;
    const stack = [s];
    seen[s] = 1;
    while (stack.length) {
      const p = stack.pop()!;
      comp.push(p);
      if (label[p] > 0.5) touches = true;
      const y = Math.floor(p / width);
      const x = p - y * width;
      for (let dy = -1; dy <= 1; dy++) {
        for (let dx = -1; dx <= 1; dx++) {
          const yy = y + dy;
          const xx = x + dx;
          if (yy < 0 || yy >= height || xx < 0 || xx >= width) continue;
          const q = yy * width + xx;
          if (!seen[q] && pred[q] > 0.5) {
            seen[q] = 1;
            stack.push(q);
          }
        }
      }
    }
    if (!touches) for (const p of comp) out[p] = 1;
  }
  return out;
}

/**
 * Cosine between two gradients given as lists of tensors (same shapes): the policy-gradient
 * signal-to-noise figure when the two come from disjoint half-batches.
 */
export function gradientCosine(a: (tf.Tensor | null | undefined)[], b: (tf.Tensor | null | undefined)[]): number {
  if (a.length !== b.length) throw new RangeError(`gradientCosine: the gradients must have the same number of tensors, got ${a.length} and ${b.length}`);
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    // A weight the loss does not reach (e.g. the value head under the policy loss) has no gradient.
    const ga = a[i];
    const gb = b[i];
    if (!ga || !gb) continue;
    const [d, x, y] = tf.tidy(() => [tf.sum(tf.mul(ga, gb)), tf.sum(tf.square(ga)), tf.sum(tf.square(gb))].map((t) => t.dataSync()[0]));
    dot += d;
    na += x;
    nb += y;
  }
  return na > 0 && nb > 0 ? dot / Math.sqrt(na * nb) : 0;
}
