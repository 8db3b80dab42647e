/**
 * Backend setup for the backend-agnostic TensorFlow.js libraries: the pure-JS 'cpu' backend and
 * the 'wasm' backend (XNNPACK), with the training kernel the latter lacks registered and its slow
 * training kernels replaced (see the files of this folder), and its convolutions run through
 * onnxruntime-node when that loads (wasm-ort-conv.ts).
 * Native backends (tfjs-node, tfjs-node-gpu) are loaded by the trainer app only.
 */
import * as tf from '@tensorflow/tfjs';
import { availableParallelism } from 'node:os';
import { registerConv2DBackpropFilter } from './conv2d-backprop-filter';
import { registerConv2DBackpropInput } from './conv2d-backprop-input';
import { createOrtSyncEngine, type OrtSyncEngine } from './ort-sync';
import { registerResizeNearestGradFix } from './resize-nearest-grad';
import { registerTileGradient } from './tile-grad';
import { registerWasmDataKernels } from './wasm-data-kernels';
import { registerOrtConvKernels, setOrtConvEngine } from './wasm-ort-conv';
import { registerOrtMatMulKernel } from './wasm-ort-matmul';

export type PortableBackend = 'wasm' | 'cpu';

/**
 * Who runs the wasm backend's convolutions (forward and both gradients) and its transposed or
 * batched matrix products (wasm-ort-matmul.ts).
 */
export type ConvEngine = 'onnxruntime' | 'wasm';

export interface PortableBackendOptions {
  /**
   * 'onnxruntime': onnxruntime-node's MLAS kernels, synchronously on the wasm heap (throws when
   * onnxruntime-node cannot be loaded); 'wasm': the backend's own XNNPACK kernels. Default:
   * onnxruntime when it loads, else wasm with a warning on stderr. Ignored for 'cpu'.
   */
  convEngine?: ConvEngine;
  /** onnxruntime intra-op threads (default os.availableParallelism()). */
  threads?: number;
  /**
   * onnxruntime's CPU memory arena for the convolution sessions (default true; false lowers the
   * peak memory on large images at a cost in speed, see OrtSyncOptions.arena).
   */
  ortArena?: boolean;
}

/** What the active portable backend runs its convolutions on (see usePortableBackend). */
export interface ConvEngineInfo {
  /** 'onnxruntime', 'wasm', or null on a backend other than wasm. */
  engine: ConvEngine | null;
  /** onnxruntime intra-op threads (engine 'onnxruntime' only). */
  threads?: number;
  /** onnxruntime-node version (engine 'onnxruntime' only). */
  version?: string;
  /** Why onnxruntime was not used when it was not asked against (a failed load). */
  fallback?: string;
}

let convInfo: ConvEngineInfo = { engine: null };
const engines = new Map<string, OrtSyncEngine | Error>();

/** One session cache per thread count (sessions keep their thread pools). */
function ortEngine(threads: number, arena: boolean): OrtSyncEngine | Error {
  const key = `${threads}|${arena}`;
  let e = engines.get(key);
  if (!e) {
    e = createOrtSyncEngine({ threads, arena });
    engines.set(key, e);
  }
  return e;
}

/** The convolution engine of the active portable backend, e.g. for a `wasm+onnxruntime` label. */
export function convEngineInfo(): ConvEngineInfo {
  return tf.getBackend() === 'wasm' ? { ...convInfo } : { engine: null };
}

/** Short label of the active backend and its convolution engine: 'wasm+onnxruntime', 'wasm', 'cpu'. */
export function backendLabel(): string {
  const b = tf.getBackend();
  return b === 'wasm' && convInfo.engine === 'onnxruntime' ? 'wasm+onnxruntime' : b;
}

// The cpu backend is registered by importing @tensorflow/tfjs; fix its batched resize gradient now.
registerResizeNearestGradFix('cpu');
registerTileGradient();

let wasmLoaded: Promise<void> | null = null;

async function loadWasm(): Promise<void> {
  if (!wasmLoaded) {
    wasmLoaded = (async () => {
      await import('@tensorflow/tfjs-backend-wasm');
    })();
  }
  return wasmLoaded;
}

/**
 * Switches TensorFlow.js to `name` and makes it able to train; on 'wasm', chooses the
 * convolution engine (`opts.convEngine`, see PortableBackendOptions and convEngineInfo).
 * @returns the backend name now active.
 * @throws when the backend fails to initialise, `opts.threads` is not a positive integer, or
 * convEngine 'onnxruntime' was asked for and onnxruntime-node cannot be loaded.
 */
export async function usePortableBackend(name: PortableBackend, opts: PortableBackendOptions = {}): Promise<string> {
  if (name === 'wasm') {
    if (opts.convEngine !== undefined && opts.convEngine !== 'onnxruntime' && opts.convEngine !== 'wasm') {
      throw new Error(`usePortableBackend: convEngine must be 'onnxruntime' or 'wasm', got '${opts.convEngine}'`);
    }
    const threads = opts.threads ?? Math.max(1, availableParallelism());
    if (!Number.isInteger(threads) || threads < 1) throw new Error(`usePortableBackend: threads must be a positive integer, got ${opts.threads}`);
    await loadWasm();
    const ok = await tf.setBackend('wasm');
    if (!ok) throw new Error("usePortableBackend: the 'wasm' backend failed to initialise");
    registerConv2DBackpropFilter('wasm');
    registerConv2DBackpropInput('wasm');
    registerWasmDataKernels('wasm');
    registerOrtConvKernels('wasm');
    registerOrtMatMulKernel('wasm');
    if (opts.convEngine === 'wasm') {
      setOrtConvEngine(null);
      convInfo = { engine: 'wasm' };
    } else {
      const e = ortEngine(threads, opts.ortArena ?? true);
      if (e instanceof Error) {
        if (opts.convEngine === 'onnxruntime') {
          throw new Error(`usePortableBackend: convEngine 'onnxruntime' needs onnxruntime-node, which failed to load: ${e.message.split('\n')[0]}`, { cause: e });
        }
        setOrtConvEngine(null);
        const fallback = `onnxruntime-node failed to load (${e.message.split('\n')[0]}); convolutions run on the wasm backend's own kernels`;
        if (convInfo.fallback !== fallback) console.warn(`usePortableBackend: ${fallback}`);
        convInfo = { engine: 'wasm', fallback };
      } else {
        setOrtConvEngine(e);
        convInfo = { engine: 'onnxruntime', threads: e.threads, version: e.version };
      }
    }
  } else {
    const ok = await tf.setBackend('cpu');
    if (!ok) throw new Error("usePortableBackend: the 'cpu' backend failed to initialise");
  }
  await tf.ready();
  return tf.getBackend();
}

/** Kernels a backend is missing among `names` (for diagnostics and tests). */
export function missingKernels(backendName: string, names: readonly string[]): string[] {
  return names.filter((n) => !tf.getKernel(n, backendName));
}
