/**
 * Direct access to TensorFlow.js' wasm backend memory, for the training kernels in this folder
 * that move data (pad, transpose, concat, gradient scatter) with plain loops over the wasm heap
 * instead of the backend's generic per-element kernels, and that call XNNPACK's matrix product on
 * views into an existing buffer (no copy).
 *
 * The backend keeps every tensor as one contiguous float32 block at `memoryOffset` in the wasm
 * heap, registered with the C++ side under a numeric id. A view (`Float32Array`) stays valid only
 * until the heap grows, so take views after all allocations of a kernel call.
 */
import type * as tf from '@tensorflow/tfjs';

/** The parts of `BackendWasm` (tfjs-backend-wasm 4.22) that the kernels here rely on. */
export interface WasmBackendInternals {
  wasm: {
    HEAPU8: Uint8Array;
    cwrap(name: string, ret: null, args: string[]): (...a: unknown[]) => void;
    tfjs: { registerTensor(id: number, size: number, memoryOffset: number): void; disposeData(id: number): void };
  };
  dataIdMap: { get(dataId: unknown): { id: number; memoryOffset: number } | undefined };
  dataIdNextNumber: number;
  makeOutput(shape: number[], dtype: 'float32'): tf.TensorInfo;
  disposeData(dataId: unknown): boolean;
}

/** True when `backend` exposes the wasm internals used here (checked once per kernel call). */
export function isWasmBackend(backend: unknown): backend is WasmBackendInternals {
  const b = backend as Partial<WasmBackendInternals> | null;
  return !!b && !!b.wasm && !!b.wasm.HEAPU8 && !!b.dataIdMap && typeof b.makeOutput === 'function' && typeof b.dataIdNextNumber === 'number';
}

/** Byte offset of a tensor's data in the wasm heap. */
export function offsetOf(backend: WasmBackendInternals, t: tf.TensorInfo): number {
  const d = backend.dataIdMap.get(t.dataId);
  if (!d) throw new Error('wasm-heap: tensor data is not on the wasm backend');
  return d.memoryOffset;
}

/** The whole heap as float32 (re-read after every allocation: growth replaces the buffer). */
export function heapF32(backend: WasmBackendInternals): Float32Array {
  const u8 = backend.wasm.HEAPU8;
  return new Float32Array(u8.buffer, 0, u8.byteLength >>> 2);
}

/** Element index of a tensor's first value in `heapF32(backend)`. */
export function baseOf(backend: WasmBackendInternals, t: tf.TensorInfo): number {
  return offsetOf(backend, t) >>> 2;
}

/**
 * Float32Array view of a tensor's data in `heap` (= heapF32(backend), taken after every
 * allocation of the call) with the given dimensions (default: its shape), as the onnxruntime
 * kernels feed and fetch it.
 */
export function heapView(backend: WasmBackendInternals, heap: Float32Array, t: tf.TensorInfo, dims: readonly number[] = t.shape): { data: Float32Array; dims: readonly number[] } {
  const b = baseOf(backend, t);
  return { data: heap.subarray(b, b + t.shape.reduce((a, n) => a * n, 1)), dims };
}

/**
 * Registers a temporary C++-side id for `size` floats starting `elementOffset` floats into tensor
 * `t` (an alias, no copy). Release it with `releaseAlias`; the memory stays owned by `t`.
 */
export function aliasId(backend: WasmBackendInternals, t: tf.TensorInfo, elementOffset: number, size: number): number {
  const id = backend.dataIdNextNumber++;
  backend.wasm.tfjs.registerTensor(id, size, offsetOf(backend, t) + elementOffset * 4);
  return id;
}

/** Forgets an alias id on the C++ side (and any XNNPACK operator cached for it); frees nothing. */
export function releaseAlias(backend: WasmBackendInternals, id: number): void {
  backend.wasm.tfjs.disposeData(id);
}

/** C++ id of a tensor. */
export function idOf(backend: WasmBackendInternals, t: tf.TensorInfo): number {
  const d = backend.dataIdMap.get(t.dataId);
  if (!d) throw new Error('wasm-heap: tensor data is not on the wasm backend');
  return d.id;
}

const matMulFns = new WeakMap<object, (...a: unknown[]) => void>();

/**
 * out[M x N] = a[M x K] . b[K x N] by the backend's own BatchMatMul entry point (XNNPACK's fully
 * connected operator for this untransposed, batch-1 form), on C++ ids, so `a`/`b` may be aliases.
 */
export function matMulIds(backend: WasmBackendInternals, aId: number, bId: number, outId: number, m: number, k: number, n: number): void {
  let fn = matMulFns.get(backend.wasm);
  if (!fn) {
    fn = backend.wasm.cwrap('BatchMatMul', null, ['number', 'array', 'number', 'number', 'array', 'number', 'number', 'number', 'number']);
    matMulFns.set(backend.wasm, fn);
  }
  const aShape = new Uint8Array(new Int32Array([1, m, k]).buffer);
  const bShape = new Uint8Array(new Int32Array([1, k, n]).buffer);
  fn(aId, aShape, 3, bId, bShape, 3, false, false, outId);
}
