/**
 * WebAssembly SIMD kernels for data movement on TensorFlow.js' wasm backend (source:
 * wasm-simd-kernels.wat; binary: wasm-simd-kernels.generated.ts). The module imports the
 * backend's own `WebAssembly.Memory`, so it reads and writes tensors on the heap where they lie,
 * with 128-bit vectors and `memory.copy` instead of JavaScript loops over a typed array (3-10x
 * faster on the bench-unet's concat, split, upsampling and pooling gradients; figures in
 * docs/performance.md).
 *
 * Every argument is in float32 elements (heap index = byte offset / 4). The callers in
 * wasm-data-kernels.ts check the shapes each function needs (C % 4 == 0 where stated) and keep
 * their JavaScript loops for the other cases and for backends whose memory is not reachable.
 */
import { WASM_SIMD_KERNELS_BASE64 } from './wasm-simd-kernels.generated';
import type { WasmBackendInternals } from './wasm-heap';

export interface WasmSimdKernels {
  /** `rows` runs of `n` floats, run r from src + r srcStride to dst + r dstStride (bit-exact). */
  copyRows(dst: number, dstStride: number, src: number, srcStride: number, n: number, rows: number): void;
  /** Nearest upsampling of `rows` (= B H) input rows of W x C (C % 4 == 0) by (fy, fx). */
  upsampleNearest(out: number, x: number, rows: number, w: number, c: number, fy: number, fx: number): void;
  /** Its gradient: dx (rows = B H, W x C, C % 4 == 0) from dy (B H fy x W fx x C). */
  upsampleNearestGrad(dx: number, dy: number, rows: number, w: number, c: number, fy: number, fx: number): void;
  /** Max-pool gradient for windows fh x fw = strides, no padding; rows = B OH; C % 4 == 0. */
  maxPoolGrad(dx: number, x: number, dy: number, rows: number, ow: number, c: number, fh: number, fw: number): void;
  /** out[j] = sum_r x[r n + j] for a rows x n matrix, n % 4 == 0. */
  sumRows(out: number, x: number, rows: number, n: number): void;
  /** out[r n + j] = x[r n + j] + b[j] for a rows x n matrix, n % 4 == 0. */
  addRows(out: number, x: number, b: number, rows: number, n: number): void;
  /** out[r n + j] = x[r n + j] b[j] for a rows x n matrix, n % 4 == 0. */
  mulRows(out: number, x: number, b: number, rows: number, n: number): void;
}

let compiled: WebAssembly.Module | null | undefined;
const instances = new WeakMap<object, WasmSimdKernels | null>();
let enabled = true;

/** Turns the SIMD kernels off (false) or back on, e.g. to compare both paths in tests. */
export function setWasmSimdKernelsEnabled(on: boolean): void {
  enabled = on;
}

function compile(): WebAssembly.Module | null {
  if (compiled !== undefined) return compiled;
  try {
    compiled = new WebAssembly.Module(Buffer.from(WASM_SIMD_KERNELS_BASE64, 'base64'));
  } catch {
    compiled = null; // no SIMD in this engine: the JavaScript loops stay in use
  }
  return compiled;
}

/**
 * The kernels instantiated on `backend`'s memory, or null when they are disabled, the engine
 * cannot compile SIMD, or the backend does not expose its `WebAssembly.Memory` (tfjs-backend-wasm
 * keeps it at `wasm.asm.memory`).
 */
export function wasmSimdKernels(backend: WasmBackendInternals): WasmSimdKernels | null {
  if (!enabled) return null;
  const key = backend.wasm as object;
  const known = instances.get(key);
  if (known !== undefined) return known;
  let k: WasmSimdKernels | null = null;
  const memory = (backend.wasm as { asm?: { memory?: unknown } }).asm?.memory;
  const mod = compile();
  if (mod && memory instanceof WebAssembly.Memory) {
    const e = new WebAssembly.Instance(mod, { env: { memory } }).exports as Record<string, (...a: number[]) => void>;
    k = {
      copyRows: e.copy_rows,
      upsampleNearest: e.upsample_nearest,
      upsampleNearestGrad: e.upsample_nearest_grad,
      maxPoolGrad: e.max_pool_grad,
      sumRows: e.sum_rows,
      addRows: e.add_rows,
      mulRows: e.mul_rows,
    };
  }
  instances.set(key, k);
  return k;
}
