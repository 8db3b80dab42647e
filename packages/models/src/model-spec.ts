/**
 * What a model is (kind, sizes, input size, seed): written to a checkpoint's config.json so a
 * checkpoint can be rebuilt, summarised, exported and used for prediction without guessing.
 */
import type * as tf from '@tensorflow/tfjs';
import type { SegNetSizes } from '@mrlseg/types';

export const MODEL_KINDS = ['seg-net', 'rl-net', 'unet', 'resunet'] as const;
export type ModelKind = (typeof MODEL_KINDS)[number];

export type ModelSpec =
  | { kind: 'seg-net'; sizes: SegNetSizes; inputSize: number; seed: number }
  | { kind: 'rl-net'; sizes: SegNetSizes; inputSize: number; seed: number; headChannels: number; probabilityInput?: boolean }
  | { kind: 'unet' | 'resunet'; baseWidth: number; inputSize: number; seed: number };

const specs = new WeakMap<tf.LayersModel, ModelSpec>();

/** Attaches `spec` to `model` (done by every builder and by loadCheckpoint). */
export function rememberSpec(model: tf.LayersModel, spec: ModelSpec): void {
  specs.set(model, spec);
}

/** The spec a builder or loadCheckpoint attached to `model`, or undefined. */
export function modelSpecOf(model: tf.LayersModel): ModelSpec | undefined {
  return specs.get(model);
}
