/**
 * Checkpoints on Node without native TensorFlow: a directory with
 * - model.json: the Keras-style topology + weights manifest (tfjs "layers-model" format),
 * - weights.bin: the weights, little-endian float32, in manifest order,
 * - config.json: `{ format: 'mrlseg-checkpoint', version: 1, spec, meta }` (see {@link ModelSpec}).
 * Written by a tf.io.IOHandler over node:fs, so the custom layers (registered at import) and
 * the weights round-trip exactly.
 */
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import './layers/custom-layers';
import { MODEL_KINDS, modelSpecOf, rememberSpec, type ModelSpec } from './model-spec';

export const CHECKPOINT_FORMAT = 'mrlseg-checkpoint';

export interface CheckpointConfig {
  format: typeof CHECKPOINT_FORMAT;
  version: 1;
  spec: ModelSpec;
  /** Free-form provenance (training run, epoch, ...). */
  meta: Record<string, unknown>;
}

/** A tf.io IOHandler reading and writing model.json + weights.bin in `dir`. */
export function fileSystemHandler(dir: string): tf.io.IOHandler {
  return {
    async save(artifacts: tf.io.ModelArtifacts): Promise<tf.io.SaveResult> {
      if (artifacts.modelTopology instanceof ArrayBuffer) throw new Error('fileSystemHandler: binary topologies are not supported');
      mkdirSync(dir, { recursive: true });
      const data = artifacts.weightData ? tf.io.CompositeArrayBuffer.join(artifacts.weightData) : new ArrayBuffer(0);
      writeFileSync(join(dir, 'weights.bin'), new Uint8Array(data));
      const json = {
        format: artifacts.format ?? 'layers-model',
        generatedBy: artifacts.generatedBy,
        convertedBy: null,
        modelTopology: artifacts.modelTopology,
        weightsManifest: [{ paths: ['weights.bin'], weights: artifacts.weightSpecs ?? [] }],
      };
      writeFileSync(join(dir, 'model.json'), JSON.stringify(json));
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON', weightDataBytes: data.byteLength } };
    },
    async load(): Promise<tf.io.ModelArtifacts> {
      const read = (f: string) => {
        const p = join(dir, f);
        if (!existsSync(p)) throw new Error(`loadCheckpoint: '${p}' is missing (not a checkpoint directory?)`);
        return readFileSync(p);
      };
      let json: tf.io.ModelJSON;
      try {
        json = JSON.parse(read('model.json').toString('utf8')) as tf.io.ModelJSON;
      } catch (e) {
        throw new Error(`loadCheckpoint: cannot parse '${join(dir, 'model.json')}': ${(e as Error).message}`, { cause: e });
      }
      const bin = read('weights.bin');
      const weightSpecs = json.weightsManifest.flatMap((g) => g.weights);
      const expected = weightSpecs.reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1) * 4, 0);
      if (bin.byteLength !== expected) throw new Error(`loadCheckpoint: '${join(dir, 'weights.bin')}' has ${bin.byteLength} bytes, the manifest needs ${expected}`);
      return {
        modelTopology: json.modelTopology,
        format: json.format,
        generatedBy: json.generatedBy,
        weightSpecs,
        weightData: bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength),
      };
    },
  };
}

/** Saves `model` with its spec (from the builder, or `spec`) and `meta` to `dir` (created). */
export async function saveCheckpoint(model: tf.LayersModel, dir: string, opts: { spec?: ModelSpec; meta?: Record<string, unknown> } = {}): Promise<CheckpointConfig> {
  const spec = opts.spec ?? modelSpecOf(model);
  if (!spec) throw new Error('saveCheckpoint: the model has no spec (not built by this package); pass opts.spec');
  await model.save(fileSystemHandler(dir));
  const config: CheckpointConfig = { format: CHECKPOINT_FORMAT, version: 1, spec, meta: opts.meta ?? {} };
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config, null, 2) + '\n');
  return config;
}

/** Reads and checks `dir`/config.json. */
export function readCheckpointConfig(dir: string): CheckpointConfig {
  const p = join(dir, 'config.json');
  if (!existsSync(p)) throw new Error(`loadCheckpoint: '${p}' is missing (not a checkpoint directory?)`);
  let c: CheckpointConfig;
  try {
    c = JSON.parse(readFileSync(p, 'utf8')) as CheckpointConfig;
  } catch (e) {
    throw new Error(`loadCheckpoint: cannot parse '${p}': ${(e as Error).message}`, { cause: e });
  }
  if (c?.format !== CHECKPOINT_FORMAT) throw new Error(`loadCheckpoint: '${p}' has format '${String(c?.format)}', expected '${CHECKPOINT_FORMAT}'`);
  if (!c.spec || !(MODEL_KINDS as readonly string[]).includes(c.spec.kind)) throw new Error(`loadCheckpoint: '${p}' field spec.kind must be one of ${MODEL_KINDS.join(', ')}`);
  if (!Number.isInteger(c.spec.inputSize) || c.spec.inputSize <= 0) throw new Error(`loadCheckpoint: '${p}' field spec.inputSize must be a positive integer`);
  return c;
}

/** Loads a checkpoint written by {@link saveCheckpoint}. */
export async function loadCheckpoint(dir: string): Promise<{ model: tf.LayersModel; config: CheckpointConfig }> {
  const config = readCheckpointConfig(dir);
  const model = await tf.loadLayersModel(fileSystemHandler(dir));
  rememberSpec(model, config.spec);
  return { model, config };
}
