/**
 * Backend setup for the backend-agnostic TensorFlow.js libraries: the pure-JS 'cpu' backend and
 * the 'wasm' backend (XNNPACK), with the training kernel the latter lacks registered and its slow
 * training kernels replaced (see the files of this folder).
 * Native backends (tfjs-node, tfjs-node-gpu) are loaded by the trainer app only.
 */
import * as tf from '@tensorflow/tfjs';
import { registerConv2DBackpropFilter } from './conv2d-backprop-filter';
import { registerConv2DBackpropInput } from './conv2d-backprop-input';
import { registerResizeNearestGradFix } from './resize-nearest-grad';
import { registerWasmDataKernels } from './wasm-data-kernels';

export type PortableBackend = 'wasm' | 'cpu';

// The cpu backend is registered by importing @tensorflow/tfjs; fix its batched resize gradient now.
registerResizeNearestGradFix('cpu');

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
 * Switches TensorFlow.js to `name` and makes it able to train.
 * @returns the backend name now active.
 */
export async function usePortableBackend(name: PortableBackend): Promise<string> {
  if (name === 'wasm') {
    await loadWasm();
    const ok = await tf.setBackend('wasm');
    if (!ok) throw new Error("usePortableBackend: the 'wasm' backend failed to initialise");
    registerConv2DBackpropFilter('wasm');
    registerConv2DBackpropInput('wasm');
    registerWasmDataKernels('wasm');
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
