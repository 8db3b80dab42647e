/**
 * ONNX models for segmentation: which file a request means ("default" = the server's --model, or
 * a run id whose export the store records), inspected once per file (cached by absolute path)
 * and run on the worker pool, whose workers each create the file's session once and reuse it.
 */
import { existsSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { ResultsStore } from '@mrlseg/experiments';
import { inferenceMetadataFromProps, readOnnxMetadataProps, type InferenceMetadata } from '@mrlseg/types';
import { HttpError, notFound } from '../errors';
import type { InferenceWorkerPool, OutputTensor } from './worker-pool';

export type Layout = 'NHWC' | 'NCHW';

export interface LoadedModel {
  /** "default" or the run id the model belongs to. */
  key: string;
  path: string;
  /** Runs the model on a pool worker (its session for this file, created once there). */
  run(data: Float32Array, dims: readonly number[], fetches: readonly string[]): Promise<{ outputs: Record<string, OutputTensor>; inferenceMs: number }>;
  inputName: string;
  layout: Layout;
  /** Spatial size the model expects (fixed in the graph, else the server's fallback size). */
  width: number;
  height: number;
  probabilitiesName: string;
  /** Name of the RL policy's deterministic action output, when the model has one. */
  actionsName: string | null;
  /** How the model was trained to be fed (ONNX metadata_props; the defaults when it has none: `present` false). */
  metadata: InferenceMetadata & { present: boolean };
}

export interface ModelRegistryOptions {
  /** The server's --model (served as "default"). */
  defaultModel?: string;
  store?: ResultsStore;
  /** Size used when the graph leaves height/width symbolic. */
  fallbackSize: number;
  /** The inference threads that hold the sessions. */
  pool: InferenceWorkerPool;
}

const isFixed = (d: unknown): d is number => typeof d === 'number' && d > 0;

/** Reads layout and spatial size off a rank-4 single-channel input (N x H x W x 1 or N x 1 x H x W). */
export function inputGeometry(shape: readonly (number | string)[], fallbackSize: number | readonly [number, number], what: string): { layout: Layout; width: number; height: number } {
  const [fh, fw] = typeof fallbackSize === 'number' ? [fallbackSize, fallbackSize] : fallbackSize;
  if (shape.length !== 4) throw new Error(`${what}: input must be rank 4 (N x H x W x 1 or N x 1 x H x W), got shape [${shape.join(', ')}]`);
  const layout: Layout = shape[3] === 1 ? 'NHWC' : shape[1] === 1 ? 'NCHW' : (() => {
    throw new Error(`${what}: input must have one channel (N x H x W x 1 or N x 1 x H x W), got shape [${shape.join(', ')}]`);
  })();
  const [h, w] = layout === 'NHWC' ? [shape[1], shape[2]] : [shape[2], shape[3]];
  return { layout, height: isFixed(h) ? h : fh, width: isFixed(w) ? w : fw };
}

export class ModelRegistry {
  private readonly sessions = new Map<string, Promise<LoadedModel>>();

  constructor(private readonly opts: ModelRegistryOptions) {
    if (opts.defaultModel !== undefined && !existsSync(opts.defaultModel)) {
      throw new Error(`--model ${opts.defaultModel}: no such file`);
    }
  }

  /** Model files loaded so far. */
  get loaded(): number {
    return this.sessions.size;
  }

  /** Models a client may name: "default" (if --model was given) and every run with an ONNX export on disk. */
  async available(): Promise<{ key: string; path: string }[]> {
    const out: { key: string; path: string }[] = [];
    if (this.opts.defaultModel) out.push({ key: 'default', path: resolve(this.opts.defaultModel) });
    for (const r of (await this.opts.store?.listRuns()) ?? []) {
      if (r.onnxPath && existsSync(r.onnxPath)) out.push({ key: r.id, path: r.onnxPath });
    }
    return out;
  }

  /**
   * The file a request's `model` names. Without one: the server's --model, else the most recent
   * completed run with an ONNX export. A client only ever names a key, never a path.
   */
  async resolve(model?: string): Promise<{ key: string; path: string }> {
    if (model === undefined || model === 'default') {
      if (this.opts.defaultModel) return { key: 'default', path: resolve(this.opts.defaultModel) };
      if (model === 'default') throw notFound('this server was started without --model; name a run id as model');
      const runs = ((await this.opts.store?.listRuns()) ?? []).filter((r) => r.onnxPath && existsSync(r.onnxPath));
      const best = [...runs].reverse().find((r) => r.status === 'completed') ?? runs[runs.length - 1];
      if (!best) throw new HttpError(503, 'no_model', 'no model to segment with: start the server with --model, or train a run that exports ONNX into the store');
      return { key: best.id, path: best.onnxPath! };
    }
    const run = await this.opts.store?.getRun(model);
    if (!run) throw notFound(`model '${model}': no such run in the store`);
    if (!run.onnxPath || !existsSync(run.onnxPath) || !statSync(run.onnxPath).isFile()) throw notFound(`run '${model}' has no ONNX export`);
    return { key: run.id, path: run.onnxPath };
  }

  /** The session for `ref`, created once per file and shared by all requests. */
  load(ref: { key: string; path: string }): Promise<LoadedModel> {
    let p = this.sessions.get(ref.path);
    if (!p) {
      p = this.create(ref);
      this.sessions.set(ref.path, p);
      // A file that fails to load is not cached, so a fixed file can be retried.
      p.catch(() => this.sessions.delete(ref.path));
    }
    return p;
  }

  private async create(ref: { key: string; path: string }): Promise<LoadedModel> {
    const pool = this.opts.pool;
    let info;
    try {
      info = await pool.inspect(ref.path);
    } catch (e) {
      throw new HttpError(503, 'model_unavailable', `model '${ref.key}' (${ref.path}) cannot be loaded: ${(e as Error).message.split('\n')[0]}`);
    }
    let metadata: InferenceMetadata & { present: boolean };
    try {
      metadata = inferenceMetadataFromProps(readOnnxMetadataProps(await readFile(ref.path)));
    } catch (e) {
      throw new HttpError(503, 'model_unavailable', `model '${ref.key}' (${ref.path}) has unreadable metadata: ${(e as Error).message.split('\n')[0]}`);
    }
    try {
      const input = info.inputs[0];
      if (!input || !input.isTensor || info.inputs.length !== 1) throw new Error('expected exactly one tensor input');
      if (input.type !== 'float32') throw new Error(`input '${input.name}' must be float32, got ${input.type}`);
      // A size left open in the graph comes from the model's metadata, else the server's fallback.
      const geo = inputGeometry(input.shape ?? [], metadata.inputSize ?? this.opts.fallbackSize, `model '${ref.key}'`);
      const names = info.outputNames;
      return {
        key: ref.key,
        path: ref.path,
        run: (data, dims, fetches) => pool.run(ref.path, input.name, data, dims, fetches),
        inputName: input.name,
        ...geo,
        probabilitiesName: names.includes('probabilities') ? 'probabilities' : names[0],
        actionsName: names.includes('actions') ? 'actions' : null,
        metadata,
      };
    } catch (e) {
      throw new HttpError(503, 'model_unavailable', `model '${ref.key}' (${ref.path}) is not a single-channel segmentation model: ${(e as Error).message}`);
    }
  }

  /** Stops the inference workers (server shutdown); their sessions go with them. */
  async dispose(): Promise<void> {
    this.sessions.clear();
    await this.opts.pool.close();
  }
}
