/**
 * Data-movement kernels of the U-Net training step for TensorFlow.js' wasm backend, written as
 * plain loops over the wasm heap. The backend's own versions copy one pixel at a time through
 * typed-array views (Concat), go through its generic strided Slice (SplitV, the gradient of a
 * channel concat), or run per-element C++ loops with index arithmetic (ResizeNearestNeighborGrad,
 * MaxPoolGrad); these were about a quarter of a bench-unet train step (kernel profile in
 * docs/performance.md). Tile (per element in the backend) was a quarter of a Segmentation-Net
 * CPU-preset train step.
 *
 * Each replacement handles the common float32 cases and hands every other call (other dtypes,
 * align-corners resizing, non-integer scale factors) to the backend's original kernel.
 *
 * Shapes follow TensorFlow.js' kernels: NHWC images, concat/split along any axis.
 */
import * as tf from '@tensorflow/tfjs';
import { baseOf, heapF32, isWasmBackend, type WasmBackendInternals } from './wasm-heap';
import { wasmSimdKernels } from './wasm-simd-kernels';

type TensorInfo = tf.TensorInfo;
type KernelArgs = { inputs: Record<string, TensorInfo> | TensorInfo[]; backend: unknown; attrs?: Record<string, unknown> };
type KernelFn = (args: KernelArgs) => TensorInfo | TensorInfo[];

const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);
/**
 * Runs of at least this many floats are moved with one `copyWithin` call, shorter ones element
 * by element (3M floats in runs of n on the wasm heap, Node 20: n = 8 loop 16 ms / copyWithin
 * 20 ms; n = 16: 16 / 11 ms; n = 32: 17 / 5.6 ms).
 */
const ROW_COPY_MIN = 16;
const normAxis = (axis: number, rank: number) => (axis < 0 ? axis + rank : axis);

/**
 * Concatenation along `axis` of float32 tensors: out[outer, inner_1 | inner_2 | ...] with
 * outer = prod(shape[:axis]) and inner_i = prod(shape_i[axis:]). Returns null for other dtypes.
 */
export function concatWasm(backend: WasmBackendInternals, inputs: TensorInfo[], axis: number): TensorInfo | null {
  if (inputs.length === 0 || inputs.some((t) => t.dtype !== 'float32')) return null;
  const rank = inputs[0].shape.length;
  const ax = normAxis(axis, rank);
  const outShape = inputs[0].shape.slice();
  outShape[ax] = inputs.reduce((s, t) => s + t.shape[ax], 0);
  const out = backend.makeOutput(outShape, 'float32');
  const heap = heapF32(backend);
  const outer = size(inputs[0].shape.slice(0, ax));
  const inners = inputs.map((t) => size(t.shape.slice(ax)));
  const total = inners.reduce((a, b) => a + b, 0);
  const bases = inputs.map((t) => baseOf(backend, t));
  const ob = baseOf(backend, out);
  const simd = wasmSimdKernels(backend);
  let col = 0;
  for (let i = 0; i < inputs.length; i++) {
    const n = inners[i];
    const src0 = bases[i];
    if (simd) {
      simd.copyRows(ob + col, total, src0, n, n, outer);
    } else if (n >= ROW_COPY_MIN) {
      for (let o = 0; o < outer; o++) heap.copyWithin(ob + o * total + col, src0 + o * n, src0 + (o + 1) * n);
    } else {
      for (let o = 0; o < outer; o++) {
        const d = ob + o * total + col;
        const s = src0 + o * n;
        for (let j = 0; j < n; j++) heap[d + j] = heap[s + j];
      }
    }
    col += n;
  }
  return out;
}

/** Split along `axis` into pieces of `sizes` (the inverse of concatWasm; float32 only, else null). */
export function splitWasm(backend: WasmBackendInternals, x: TensorInfo, sizes: number[], axis: number): TensorInfo[] | null {
  if (x.dtype !== 'float32') return null;
  const ax = normAxis(axis, x.shape.length);
  const outer = size(x.shape.slice(0, ax));
  const rest = size(x.shape.slice(ax + 1));
  const total = x.shape[ax] * rest;
  const outs = sizes.map((s) => {
    const shape = x.shape.slice();
    shape[ax] = s;
    return backend.makeOutput(shape, 'float32');
  });
  const heap = heapF32(backend);
  const xb = baseOf(backend, x);
  const simd = wasmSimdKernels(backend);
  let col = 0;
  for (let i = 0; i < outs.length; i++) {
    const n = sizes[i] * rest;
    const ob = baseOf(backend, outs[i]);
    if (simd) {
      simd.copyRows(ob, n, xb + col, total, n, outer);
    } else if (n >= ROW_COPY_MIN) {
      for (let o = 0; o < outer; o++) heap.copyWithin(ob + o * n, xb + o * total + col, xb + o * total + col + n);
    } else {
      for (let o = 0; o < outer; o++) {
        const d = ob + o * n;
        const s = xb + o * total + col;
        for (let j = 0; j < n; j++) heap[d + j] = heap[s + j];
      }
    }
    col += n;
  }
  return outs;
}

/**
 * Gradient of nearest-neighbour upsampling by integer factors (fy, fx) = (H'/H, W'/W) without
 * align-corners: dx[b, y, x, c] = sum_{i < fy, j < fx} dy[b, y fy + i, x fx + j, c] (with or
 * without half-pixel centres the source of output row y' is floor(y' / fy) for integer factors).
 * Returns null when the factors are not integers or alignCorners is set.
 */
export function resizeNearestGradWasm(backend: WasmBackendInternals, images: TensorInfo, dy: TensorInfo, alignCorners: boolean): TensorInfo | null {
  const [B, H, W, C] = images.shape;
  const [, H2, W2] = dy.shape;
  if (alignCorners || dy.dtype !== 'float32' || H2 % H !== 0 || W2 % W !== 0) return null;
  const fy = H2 / H;
  const fx = W2 / W;
  const out = backend.makeOutput([B, H, W, C], 'float32');
  const ob = baseOf(backend, out);
  const db = baseOf(backend, dy);
  const simd = C % 4 === 0 ? wasmSimdKernels(backend) : null;
  if (simd) {
    simd.upsampleNearestGrad(ob, db, B * H, W, C, fy, fx);
    return out;
  }
  const heap = heapF32(backend);
  heap.fill(0, ob, ob + B * H * W * C);
  for (let b = 0; b < B; b++) {
    for (let y2 = 0; y2 < H2; y2++) {
      const y = (y2 / fy) | 0;
      const rowOut = ob + (b * H + y) * W * C;
      let s = db + (b * H2 + y2) * W2 * C;
      for (let x = 0; x < W; x++) {
        const d = rowOut + x * C;
        for (let j = 0; j < fx; j++) {
          for (let c = 0; c < C; c++) heap[d + c] += heap[s + c];
          s += C;
        }
      }
    }
  }
  return out;
}

/**
 * Max-pooling gradient: every dy[b, oy, ox, c] goes to the first position (row-major within the
 * window, as the cpu backend's maxPoolPositions) holding the window's maximum of `input`.
 * Windows and padding from tf.backend_util.computePool2DInfo. Shapes: input B x H x W x C.
 */
export function maxPoolGradWasm(
  backend: WasmBackendInternals,
  dy: TensorInfo,
  input: TensorInfo,
  attrs: { filterSize: number | [number, number]; strides: number | [number, number]; pad: 'valid' | 'same' | number; dimRoundingMode?: 'floor' | 'round' | 'ceil' },
): TensorInfo | null {
  if (input.dtype !== 'float32' || dy.dtype !== 'float32') return null;
  const info = tf.backend_util.computePool2DInfo(input.shape as [number, number, number, number], attrs.filterSize, attrs.strides, 1, attrs.pad, attrs.dimRoundingMode);
  const { batchSize: B, inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW, strideHeight: sh, strideWidth: sw } = info;
  const { effectiveFilterHeight: fh, effectiveFilterWidth: fw } = info;
  const { top, left } = info.padInfo;
  const out = backend.makeOutput(input.shape, 'float32');
  const ob = baseOf(backend, out);
  const xb = baseOf(backend, input);
  const db = baseOf(backend, dy);
  // Windows that tile the input exactly (window = stride, no padding): the SIMD kernel writes
  // every position once.
  const tiles = fh === sh && fw === sw && top === 0 && left === 0 && OH * sh === H && OW * sw === W;
  const simd = tiles && C % 4 === 0 ? wasmSimdKernels(backend) : null;
  if (simd) {
    simd.maxPoolGrad(ob, xb, db, B * OH, OW, C, fh, fw);
    return out;
  }
  const heap = heapF32(backend);
  heap.fill(0, ob, ob + B * H * W * C);
  for (let b = 0; b < B; b++) {
    for (let oy = 0; oy < OH; oy++) {
      const y0 = oy * sh - top;
      const ya = Math.max(0, y0);
      const yb = Math.min(H, y0 + fh);
      for (let ox = 0; ox < OW; ox++) {
        const x0 = ox * sw - left;
        const xa = Math.max(0, x0);
        const xe = Math.min(W, x0 + fw);
        const dIdx = db + ((b * OH + oy) * OW + ox) * C;
        for (let c = 0; c < C; c++) {
          let best = -Infinity;
          let at = -1;
          for (let y = ya; y < yb; y++) {
            let p = xb + ((b * H + y) * W + xa) * C + c;
            for (let x = xa; x < xe; x++, p += C) {
              const v = heap[p];
              if (v > best) {
                best = v;
                at = p;
              }
            }
          }
          if (at >= 0) heap[ob + (at - xb)] += heap[dIdx + c];
        }
      }
    }
  }
  return out;
}

/**
 * Nearest-neighbour upsampling by integer factors without align-corners (with or without
 * half-pixel centres the source of output row y' is floor(y' / fy) then):
 * out[b, y', x', c] = images[b, floor(y' / fy), floor(x' / fx), c]. SIMD only (C % 4 == 0);
 * returns null otherwise (the backend's kernel runs).
 */
export function resizeNearestWasm(backend: WasmBackendInternals, images: TensorInfo, size: readonly number[], alignCorners: boolean): TensorInfo | null {
  const [B, H, W, C] = images.shape;
  const [H2, W2] = size;
  if (alignCorners || images.dtype !== 'float32' || H2 % H !== 0 || W2 % W !== 0 || C % 4 !== 0) return null;
  const simd = wasmSimdKernels(backend);
  if (!simd) return null;
  const out = backend.makeOutput([B, H2, W2, C], 'float32');
  simd.upsampleNearest(baseOf(backend, out), baseOf(backend, images), B * H, W, C, H2 / H, W2 / W);
  return out;
}

/**
 * Sum of a float32 tensor over its leading axes 0..k-1 (k < rank), e.g. the bias gradient of a
 * convolution (B x H x W x C -> C): out[j] = sum_r x[r n + j] with n = prod(shape[k:]), in row
 * blocks of 64 (see sum_rows in wasm-simd-kernels.wat). SIMD only (n % 4 == 0); returns null for
 * other axes, dtypes and sizes (the backend's kernel runs).
 */
export function sumLeadingWasm(backend: WasmBackendInternals, x: TensorInfo, axes: number[], keepDims: boolean): TensorInfo | null {
  const rank = x.shape.length;
  const ax = [...new Set(axes.map((a) => normAxis(a, rank)))].sort((a, b) => a - b);
  const k = ax.length;
  if (x.dtype !== 'float32' || k === 0 || k >= rank || ax.some((a, i) => a !== i)) return null;
  const n = size(x.shape.slice(k));
  const rows = size(x.shape.slice(0, k));
  if (n % 4 !== 0 || rows === 0) return null;
  const simd = wasmSimdKernels(backend);
  if (!simd) return null;
  const outShape = keepDims ? x.shape.map((d, i) => (i < k ? 1 : d)) : x.shape.slice(k);
  const out = backend.makeOutput(outShape, 'float32');
  simd.sumRows(baseOf(backend, out), baseOf(backend, x), rows, n);
  return out;
}

/**
 * Addition or multiplication of a float32 tensor x (rank >= 2) and a vector b broadcast along its
 * last axis (shape [n] or [1, ..., 1, n] with n the last dimension of x), e.g. a convolution's
 * bias or a batch-norm scale: out = x + b or x * b, shaped like x. SIMD only (n % 4 == 0);
 * returns null for every other pair (the backend's kernel runs). Either operand order (both
 * operations are commutative in IEEE arithmetic, so the result is bit-exact).
 */
export function rowVectorOpWasm(backend: WasmBackendInternals, a: TensorInfo, b: TensorInfo, op: 'add' | 'mul'): TensorInfo | null {
  if (a.dtype !== 'float32' || b.dtype !== 'float32') return null;
  const [x, v] = size(a.shape) >= size(b.shape) ? [a, b] : [b, a];
  const r = x.shape.length;
  const n = x.shape[r - 1];
  if (r < 2 || v.shape.length > r || size(v.shape) !== n || v.shape[v.shape.length - 1] !== n || n % 4 !== 0 || size(x.shape) === n) return null;
  const simd = wasmSimdKernels(backend);
  if (!simd) return null;
  const out = backend.makeOutput(x.shape.slice(), 'float32');
  (op === 'add' ? simd.addRows : simd.mulRows)(baseOf(backend, out), baseOf(backend, x), baseOf(backend, v), size(x.shape) / n, n);
  return out;
}

/**
 * Mean of a float32 tensor over its leading axes 0..k-1 (k < rank), e.g. the batch statistics of
 * a batch-norm (B x H x W x C -> C): sumLeadingWasm divided by the number of rows. SIMD only
 * (n % 4 == 0); returns null otherwise (the backend's kernel runs).
 */
export function meanLeadingWasm(backend: WasmBackendInternals, x: TensorInfo, axes: number[], keepDims: boolean): TensorInfo | null {
  const out = sumLeadingWasm(backend, x, axes, keepDims);
  if (!out) return null;
  const n = size(out.shape);
  const rows = size(x.shape) / n;
  const heap = heapF32(backend);
  const ob = baseOf(backend, out);
  for (let j = 0; j < n; j++) heap[ob + j] /= rows;
  return out;
}

/**
 * Tile (float32): out[i_0, ..., i_{r-1}] = x[i_0 mod n_0, ..., i_{r-1} mod n_{r-1}], output dims
 * n_d * reps[d]. Built from the innermost dimension out: each input row is copied once, then
 * every block already written is doubled with copyWithin until it is repeated reps[d] times
 * (log2(reps) copies per block, not one call per element as the backend's kernel). The
 * Segmentation-Net's batch-norm gradients tile [1, 1, 1, C] to the whole feature map six times
 * per step. Returns null for other dtypes.
 */
export function tileWasm(backend: WasmBackendInternals, x: TensorInfo, reps: readonly number[]): TensorInfo | null {
  if (x.dtype !== 'float32' || reps.length !== x.shape.length) return null;
  const r = x.shape.length;
  const outShape = x.shape.map((n, d) => n * reps[d]);
  const out = backend.makeOutput(outShape, 'float32');
  if (size(outShape) === 0) return out;
  const heap = heapF32(backend);
  const xb = baseOf(backend, x);
  const ob = baseOf(backend, out);
  // Element strides of x and of the output, per dimension.
  const xStride = new Array<number>(r).fill(1);
  const oStride = new Array<number>(r).fill(1);
  for (let d = r - 2; d >= 0; d--) {
    xStride[d] = xStride[d + 1] * x.shape[d + 1];
    oStride[d] = oStride[d + 1] * outShape[d + 1];
  }
  // Repeats the `len` floats at `at` until they fill len * times floats.
  const repeat = (at: number, len: number, times: number) => {
    let filled = len;
    const total = len * times;
    while (filled < total) {
      const n = Math.min(filled, total - filled);
      heap.copyWithin(at + filled, at, at + n);
      filled += n;
    }
  };
  // Writes the tile of x's sub-block at dimension d (x offset xo) to the output at oo.
  const fill = (d: number, xo: number, oo: number): void => {
    const n = x.shape[d];
    if (d === r - 1) {
      heap.copyWithin(oo, xo, xo + n);
    } else {
      for (let i = 0; i < n; i++) fill(d + 1, xo + i * xStride[d], oo + i * oStride[d]);
    }
    repeat(oo, n * oStride[d], reps[d]);
  };
  if (r === 0) heap[ob] = heap[xb];
  else fill(0, xb, ob);
  return out;
}

/** Zero-copy Identity: shares the data (reference counted), like the cpu backend's Identity. */
function identityShared(args: KernelArgs): TensorInfo {
  const { x } = args.inputs as Record<string, TensorInfo>;
  (args.backend as { incRef(id: unknown): void }).incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

/**
 * Replaces Concat, SplitV, ResizeNearestNeighbor and its gradient, Sum and Mean (leading axes),
 * Add and Multiply (row-vector broadcast), MaxPoolGrad, Tile, Identity and same-dtype Cast on
 * `backendName` (wasm) with the versions above, keeping the originals for the cases they do not
 * handle. Idempotent. @returns the kernel names registered now.
 */
export function registerWasmDataKernels(backendName = 'wasm'): string[] {
  const done: string[] = [];
  const replace = (name: string, make: (original: KernelFn) => KernelFn) => {
    const existing = tf.getKernel(name, backendName) as (tf.KernelConfig & { mrlseg?: boolean }) | undefined;
    if (!existing || existing.mrlseg) return;
    const original = existing.kernelFunc as unknown as KernelFn;
    tf.unregisterKernel(name, backendName);
    const config: tf.KernelConfig & { mrlseg: boolean } = {
      ...existing,
      kernelName: name,
      backendName,
      mrlseg: true,
      kernelFunc: make(original) as unknown as tf.KernelFunc,
    };
    tf.registerKernel(config);
    done.push(name);
  };
  // `fast` runs on the wasm backend and returns null for the calls it does not handle, which go to
  // the original kernel.
  type Inputs = Record<string, TensorInfo>;
  const withFallback = (name: string, fast: (backend: WasmBackendInternals, inputs: Inputs, attrs: Record<string, unknown>, args: KernelArgs) => TensorInfo | TensorInfo[] | null) =>
    replace(name, (original) => (args) => (isWasmBackend(args.backend) ? fast(args.backend, args.inputs as Inputs, args.attrs ?? {}, args) : null) ?? original(args));
  const leadingReduction = (reduce: typeof sumLeadingWasm) => (backend: WasmBackendInternals, { x }: Inputs, attrs: Record<string, unknown>) =>
    reduce(backend, x, tf.util.parseAxisParam(attrs.axis as number | number[], x.shape), !!attrs.keepDims);

  withFallback('Concat', (backend, _inputs, attrs, args) => {
    const inputs = (Array.isArray(args.inputs) ? args.inputs : Object.values(args.inputs)).filter((t) => size(t.shape) > 0);
    return inputs.length > 1 ? concatWasm(backend, inputs, attrs.axis as number) : null;
  });
  withFallback('SplitV', (backend, { x }, attrs) => {
    const a = attrs as { numOrSizeSplits: number | number[]; axis: number };
    const ax = normAxis(a.axis, x.shape.length);
    return splitWasm(backend, x, tf.backend_util.prepareSplitSize(x as tf.Tensor, a.numOrSizeSplits, ax), ax);
  });
  withFallback('ResizeNearestNeighborGrad', (backend, { images, dy }, attrs) => resizeNearestGradWasm(backend, images, dy, !!attrs.alignCorners));
  withFallback('ResizeNearestNeighbor', (backend, { images }, attrs) => resizeNearestWasm(backend, images, attrs.size as number[], !!attrs.alignCorners));
  withFallback('Add', (backend, { a, b }) => rowVectorOpWasm(backend, a, b, 'add'));
  withFallback('Multiply', (backend, { a, b }) => rowVectorOpWasm(backend, a, b, 'mul'));
  withFallback('Mean', leadingReduction(meanLeadingWasm));
  withFallback('Sum', leadingReduction(sumLeadingWasm));
  withFallback('MaxPoolGrad', (backend, { dy, input }, attrs) => maxPoolGradWasm(backend, dy, input, attrs as never));
  withFallback('Tile', (backend, { x }, attrs) => tileWasm(backend, x, attrs.reps as number[]));
  // A cast to the tensor's own dtype (the ReLU gradient casts step(x), already float32) shares the
  // data like Identity instead of copying it, as the cpu backend does.
  replace('Cast', (original) => (args) => {
    const { x } = args.inputs as Inputs;
    return x.dtype !== 'string' && x.dtype === args.attrs?.dtype ? identityShared(args) : original(args);
  });
  replace('Identity', (original) => (args) => {
    const { x } = args.inputs as Inputs;
    return x.dtype === 'string' ? original(args) : identityShared(args);
  });
  return done;
}
