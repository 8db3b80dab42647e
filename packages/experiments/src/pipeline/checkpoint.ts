/**
 * Training-state checkpoints, one folder per finished epoch (`artifacts/<runId>/checkpoints/<phase>-<epoch>`):
 * - `seg/`, `rl/`: the networks, saved with @mrlseg/models' saveCheckpoint;
 * - `optimizer-<name>.json` + `.bin`: Adam's iteration count and moments, so a resumed run takes
 *   exactly the steps an uninterrupted one would;
 * - `reward-filter.json`: the learned reward-map filter w (RL phase);
 * - `state.json`: phase, epoch, and what to continue with.
 * A checkpoint is written to `<folder>.tmp` and renamed, so a folder that exists is complete.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { loadCheckpoint, saveCheckpoint } from '@mrlseg/models';

export const TRAIN_STATE_FORMAT = 'mrlseg-train-state';

export interface TrainState {
  format: typeof TRAIN_STATE_FORMAT;
  version: 1;
  runId: string;
  /** The phase the checkpoint closes an epoch of. */
  phase: 'pretrain' | 'rl' | 'finetune';
  /** 0-based epoch just finished. */
  epoch: number;
  /** Epochs of that phase in the run's config. */
  epochs: number;
  /** Networks in the folder. */
  nets: { seg: boolean; rl: boolean };
  optimizers: string[];
  rewardFilter: boolean;
  savedAt: string;
}

export interface TrainStateParts {
  seg: tf.LayersModel;
  rl: tf.LayersModel | null;
  optimizers: Record<string, tf.Optimizer>;
  rewardFilter: tf.Tensor4D | null;
}

async function saveOptimizer(opt: tf.Optimizer, dir: string, name: string): Promise<void> {
  const weights = await opt.getWeights();
  const manifest = weights.map((w) => ({ name: w.name, shape: w.tensor.shape, dtype: w.tensor.dtype }));
  const parts = await Promise.all(weights.map(async (w) => new Float32Array(await w.tensor.data())));
  const total = parts.reduce((n, p) => n + p.length, 0);
  const bin = new Float32Array(total);
  let off = 0;
  for (const p of parts) {
    bin.set(p, off);
    off += p.length;
  }
  // getWeights returns the optimizer's own moment variables plus a fresh iteration scalar: free only the latter.
  tf.dispose(weights.filter((w) => w.name === 'iter').map((w) => w.tensor));
  writeFileSync(join(dir, `optimizer-${name}.json`), JSON.stringify(manifest));
  writeFileSync(join(dir, `optimizer-${name}.bin`), new Uint8Array(bin.buffer));
}

async function loadOptimizer(opt: tf.Optimizer, dir: string, name: string): Promise<void> {
  const manifest = JSON.parse(readFileSync(join(dir, `optimizer-${name}.json`), 'utf8')) as { name: string; shape: number[]; dtype: tf.DataType }[];
  const buf = readFileSync(join(dir, `optimizer-${name}.bin`));
  const all = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
  let off = 0;
  const named = manifest.map((m) => {
    const n = m.shape.reduce((a, b) => a * b, 1);
    const vals = all.subarray(off, off + n);
    off += n;
    return { name: m.name, tensor: m.dtype === 'int32' ? tf.tensor(Int32Array.from(vals), m.shape, 'int32') : tf.tensor(vals, m.shape, 'float32') };
  });
  if (off !== all.length) throw new Error(`checkpoint ${dir}: optimizer-${name}.bin holds ${all.length} values, the manifest ${off}`);
  await opt.setWeights(named);
  tf.dispose(named.map((n) => n.tensor));
}

/** Writes a complete checkpoint folder at `dir` (atomically: `<dir>.tmp` then rename). */
export async function saveTrainState(
  dir: string,
  state: Omit<TrainState, 'format' | 'version' | 'savedAt' | 'nets' | 'optimizers' | 'rewardFilter'>,
  parts: TrainStateParts,
  /** The networks' inference metadata (ONNX-style string props), kept as `meta.inference` of each checkpoint. */
  inference?: Record<string, string>,
): Promise<TrainState> {
  const tmp = `${dir}.tmp`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  const meta = { runId: state.runId, phase: state.phase, epoch: state.epoch, ...(inference ? { inference } : {}) };
  await saveCheckpoint(parts.seg, join(tmp, 'seg'), { meta });
  if (parts.rl) await saveCheckpoint(parts.rl, join(tmp, 'rl'), { meta });
  for (const [name, opt] of Object.entries(parts.optimizers)) await saveOptimizer(opt, tmp, name);
  if (parts.rewardFilter) {
    writeFileSync(join(tmp, 'reward-filter.json'), JSON.stringify({ shape: parts.rewardFilter.shape, values: Array.from(await parts.rewardFilter.data()) }));
  }
  const full: TrainState = {
    ...state,
    format: TRAIN_STATE_FORMAT,
    version: 1,
    nets: { seg: true, rl: parts.rl !== null },
    optimizers: Object.keys(parts.optimizers),
    rewardFilter: parts.rewardFilter !== null,
    savedAt: new Date().toISOString(),
  };
  writeFileSync(join(tmp, 'state.json'), JSON.stringify(full, null, 2));
  rmSync(dir, { recursive: true, force: true });
  renameSync(tmp, dir);
  return full;
}

/** Reads `state.json` of a checkpoint folder. */
export function readTrainState(dir: string): TrainState {
  const p = join(dir, 'state.json');
  if (!existsSync(p)) throw new Error(`checkpoint ${dir}: state.json is missing (not a training checkpoint)`);
  const s = JSON.parse(readFileSync(p, 'utf8')) as TrainState;
  if (s.format !== TRAIN_STATE_FORMAT) throw new Error(`checkpoint ${dir}: format '${String(s.format)}', expected '${TRAIN_STATE_FORMAT}'`);
  return s;
}

/** Loads the networks of a checkpoint folder (the caller disposes them). */
export async function loadTrainNets(dir: string): Promise<{ seg: tf.LayersModel; rl: tf.LayersModel | null; state: TrainState }> {
  const state = readTrainState(dir);
  const seg = (await loadCheckpoint(join(dir, 'seg'))).model;
  const rl = state.nets.rl ? (await loadCheckpoint(join(dir, 'rl'))).model : null;
  return { seg, rl, state };
}

/** Restores optimizer state saved under `name` (when present) and returns the reward filter, if any. */
export async function loadTrainExtras(dir: string, optimizers: Record<string, tf.Optimizer>): Promise<{ rewardFilter: tf.Tensor4D | null }> {
  const state = readTrainState(dir);
  for (const [name, opt] of Object.entries(optimizers)) if (state.optimizers.includes(name)) await loadOptimizer(opt, dir, name);
  let rewardFilter: tf.Tensor4D | null = null;
  if (state.rewardFilter) {
    const r = JSON.parse(readFileSync(join(dir, 'reward-filter.json'), 'utf8')) as { shape: number[]; values: number[] };
    rewardFilter = tf.tensor4d(r.values, r.shape as [number, number, number, number]);
  }
  return { rewardFilter };
}
