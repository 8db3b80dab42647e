/**
 * Synchronous onnxruntime-node sessions for TensorFlow.js kernels (wasm-ort-conv.ts).
 *
 * A TensorFlow.js kernel must return its output synchronously, but onnxruntime-node's public
 * `InferenceSession.run` is asynchronous. Its native binding (`onnxruntime-node/dist/binding.js`,
 * exports `{ binding, initOrt }`) is not: `new binding.InferenceSession()`, `loadModel(buffer,
 * byteOffset, byteLength, options)` and `run(feeds, fetches, runOptions)` return on the calling
 * thread once MLAS has finished (the public backend.js only wraps them in `setImmediate`). That
 * binding is an internal API of onnxruntime-node; what this module relies on is pinned by
 * test/wasm-ort-kernels.test.ts (synchronous return, pre-allocated outputs written in place,
 * inputs that are views into a larger buffer), so an upgrade that changes it fails there first.
 *
 * Tensors are passed as `ort.Tensor`s over Float32Array views: inputs are read where they lie
 * and each output is written into the caller's view (a "pre-allocated output" in the binding's
 * terms). The binding of onnxruntime-node 1.30 also copies every fetched output into a new
 * JavaScript ArrayBuffer for its return value (discarded here), about 1 ms per MB on the 2-core
 * development VM: keep outputs to what the caller needs.
 */
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';

/** The parts of the binding's InferenceSession used here (onnxruntime-node 1.30, dist/binding.d.ts). */
interface BindingSession {
  loadModel(buffer: ArrayBufferLike, byteOffset: number, byteLength: number, options: Record<string, unknown>): void;
  run(feeds: Record<string, unknown>, fetches: Record<string, unknown>, options: Record<string, unknown>): Record<string, { data: unknown }>;
  dispose(): void;
}
interface BindingModule {
  binding: { InferenceSession: new () => BindingSession };
  initOrt(): void;
}
type TensorCtor = new (type: 'float32', data: Float32Array, dims: readonly number[]) => unknown;

/** A float32 array with its dimensions, as fed to or fetched from a session. */
export interface OrtView {
  data: Float32Array;
  dims: readonly number[];
}

export interface OrtSyncOptions {
  /** onnxruntime intra-op threads per session (default: os.availableParallelism()). */
  threads?: number;
  /** Most sessions kept; the least recently used is released beyond it (default 256). */
  maxSessions?: number;
  /**
   * Extra runs of a session right after it is built, on the first call's own feeds and fetches
   * (default 2). A session's first runs are slower (onnxruntime plans its memory pattern and grows
   * its arena on them); warming it where it is built moves that cost to the first use, so the
   * steps after a warm-up step run at their steady speed. The kernels run here are pure, so the
   * repeated runs write the same outputs.
   */
  warmRuns?: number;
  /**
   * Give every session onnxruntime's CPU memory arena (default true). Memory-pattern planning is
   * always off: every cached session keeps its own blocks, and a train step uses one session per
   * layer and direction, so it only added memory (bench-unet train step at 512 px, batch 4: peak
   * RSS 7.8 GiB with arena and memory pattern, 6.2 GiB with the arena alone, at the same speed).
   * Without the arena the peak is 3.6 GiB but large images run ~40 % slower (5.2-5.6 s instead
   * of 3.6-4.1 s per step); at 128 px the speed is the same (530 instead of 650 MiB).
   * docs/performance.md, 2026-11-30.
   */
  arena?: boolean;
}

/** Sessions built on demand and cached by key, run synchronously. */
export interface OrtSyncEngine {
  readonly threads: number;
  /** onnxruntime-node's version. */
  readonly version: string;
  /** Sessions currently cached. */
  readonly size: number;
  /** Sessions built so far (a cache miss each). */
  readonly built: number;
  /**
   * Runs the session cached under `key`, building it from `model()` (ONNX bytes) on the first
   * call. Every fetch is written into its view. Returns when onnxruntime has finished.
   */
  run(key: string, model: () => Uint8Array, feeds: Record<string, OrtView>, fetches: Record<string, OrtView>): void;
  /** Runs and total wall milliseconds per key since the engine was made (or `resetTimings`). */
  timings(): Map<string, { runs: number; ms: number }>;
  resetTimings(): void;
  /** Releases every cached session (they are rebuilt on demand). */
  clear(): void;
}

let loaded: { mod: BindingModule; Tensor: TensorCtor; version: string } | Error | null = null;

/**
 * Loads onnxruntime-node's native binding once.
 * @returns the binding, or the Error that explains why it could not be loaded (package missing,
 * no native library for this platform).
 */
function loadBinding(): { mod: BindingModule; Tensor: TensorCtor; version: string } | Error {
  if (loaded) return loaded;
  try {
    const require = createRequire(import.meta.url);
    const mod = require('onnxruntime-node/dist/binding.js') as BindingModule;
    const ort = require('onnxruntime-node') as { Tensor: TensorCtor; env: { versions: Record<string, string | undefined> } };
    if (typeof mod?.binding?.InferenceSession !== 'function' || typeof mod.initOrt !== 'function') {
      throw new Error('onnxruntime-node/dist/binding.js does not export { binding.InferenceSession, initOrt } (internal API changed)');
    }
    mod.initOrt();
    loaded = { mod, Tensor: ort.Tensor, version: ort.env.versions.node ?? ort.env.versions.common ?? 'unknown' };
  } catch (e) {
    loaded = e instanceof Error ? e : new Error(String(e));
  }
  return loaded;
}

/**
 * Creates a synchronous session cache.
 * @returns the engine, or an Error saying why onnxruntime-node is unavailable.
 * @throws when `threads` or `maxSessions` is not a positive integer.
 */
export function createOrtSyncEngine(opts: OrtSyncOptions = {}): OrtSyncEngine | Error {
  const threads = opts.threads ?? Math.max(1, availableParallelism());
  const maxSessions = opts.maxSessions ?? 256;
  const warmRuns = opts.warmRuns ?? 2;
  if (!Number.isInteger(threads) || threads < 1) throw new Error(`createOrtSyncEngine: threads must be a positive integer, got ${opts.threads}`);
  if (!Number.isInteger(maxSessions) || maxSessions < 1) throw new Error(`createOrtSyncEngine: maxSessions must be a positive integer, got ${opts.maxSessions}`);
  if (!Number.isInteger(warmRuns) || warmRuns < 0) throw new Error(`createOrtSyncEngine: warmRuns must be a non-negative integer, got ${opts.warmRuns}`);
  const b = loadBinding();
  if (b instanceof Error) return b;
  const { mod, Tensor, version } = b;
  const sessionOptions = {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
    enableCpuMemArena: opts.arena ?? true,
    enableMemPattern: false,
    // Every cached session owns a thread pool; spinning pool threads would keep a core busy
    // after each run and slow the wasm kernels running between the sessions.
    extra: { session: { intra_op: { allow_spinning: '0' } } },
  };
  // Map iteration order is insertion order: re-inserting on use keeps the LRU session first.
  const cache = new Map<string, BindingSession>();
  let built = 0;
  let timings = new Map<string, { runs: number; ms: number }>();
  const tensor = (v: OrtView) => new Tensor('float32', v.data, v.dims);
  return {
    threads,
    version,
    get size() {
      return cache.size;
    },
    get built() {
      return built;
    },
    run(key, model, feeds, fetches) {
      let s = cache.get(key);
      let fresh = false;
      if (s) {
        cache.delete(key);
      } else {
        const bytes = model();
        s = new mod.binding.InferenceSession();
        s.loadModel(bytes.buffer, bytes.byteOffset, bytes.byteLength, sessionOptions);
        built++;
        fresh = true;
        if (cache.size >= maxSessions) {
          const [oldKey, old] = cache.entries().next().value as [string, BindingSession];
          cache.delete(oldKey);
          old.dispose();
        }
      }
      cache.set(key, s);
      const f: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(feeds)) f[k] = tensor(v);
      const o: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(fetches)) o[k] = tensor(v);
      if (fresh) for (let i = 0; i < warmRuns; i++) s.run(f, o, {});
      const t0 = performance.now();
      s.run(f, o, {});
      const t = timings.get(key) ?? { runs: 0, ms: 0 };
      t.runs++;
      t.ms += performance.now() - t0;
      timings.set(key, t);
    },
    timings: () => new Map([...timings].map(([k, v]) => [k, { ...v }])),
    resetTimings() {
      timings = new Map();
    },
    clear() {
      for (const s of cache.values()) s.dispose();
      cache.clear();
    },
  };
}
