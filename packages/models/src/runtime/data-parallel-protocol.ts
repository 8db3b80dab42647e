/**
 * Messages and shared-memory layout between `createDataParallelTrainer` (main thread) and its
 * worker threads (data-parallel-worker.ts). Plain data only: everything crosses postMessage.
 */

/** Where a worker finds a function: an ES module (absolute path, file URL or package name) and an export. */
export interface ModuleRef {
  /** Module specifier, resolved from packages/models/src/runtime/ (use absolute paths or package names). */
  module: string;
  /** Name of the exported function. */
  export: string;
}

/** A model built inside every worker by calling `module[export](...args)`; it must return a tf.LayersModel. */
export interface ModelFactoryRef extends ModuleRef {
  args?: unknown[];
}

/** Optimiser built identically in every worker (tf.train.*). */
export type OptimizerSpec =
  | { name: 'adam'; learningRate: number; beta1?: number; beta2?: number; epsilon?: number }
  | { name: 'sgd'; learningRate: number }
  | { name: 'rmsprop'; learningRate: number; decay?: number; momentum?: number; epsilon?: number };

export interface WorkerInit {
  type: 'init';
  rank: number;
  workers: number;
  backend: 'wasm' | 'cpu';
  /** Convolution engine of the worker's wasm backend (default: onnxruntime when it loads). */
  convEngine?: 'onnxruntime' | 'wasm';
  /** onnxruntime intra-op threads of the worker (default 1: one core per worker). */
  convThreads?: number;
  model: ModelFactoryRef;
  /** `(target, prediction) => tf.Scalar`, the mean loss over the worker's shard; default: bceLoss of this package. */
  loss?: ModuleRef;
  optimizer: OptimizerSpec;
  /** Int32 control words of the barrier (CTL). */
  control: SharedArrayBuffer;
}

export interface Shard {
  x: Float32Array;
  xShape: number[];
  y: Float32Array;
  yShape: number[];
  /** Weight of this shard's mean gradient in the all-reduced one: shard size / batch size. */
  weight: number;
}

export type ToWorker =
  | WorkerInit
  /** The gradient slots: `workers` consecutive float32 blocks of `paramCount` each, block r is rank r's. */
  | { type: 'attach'; id: number; grads: SharedArrayBuffer }
  | ({ type: 'step'; id: number } & Shard)
  | { type: 'getWeights'; id: number }
  | { type: 'setWeights'; id: number; weights: Float32Array[] }
  | { type: 'close' };

export type FromWorker =
  | { type: 'ready'; rank: number; paramCount: number; backend: string; convEngine: 'onnxruntime' | 'wasm' | null; convThreads?: number }
  | { type: 'stepDone'; id: number; loss: number; ms: number }
  | { type: 'weights'; id: number; weights: Float32Array[]; shapes: number[][] }
  | { type: 'weightsSet'; id: number }
  | { type: 'attached'; id: number }
  | { type: 'error'; id?: number; message: string };

/** Int32 words of the control buffer. */
export const CTL = { count: 0, generation: 1, words: 2 } as const;
