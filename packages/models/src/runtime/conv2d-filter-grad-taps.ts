/**
 * The filter gradient of a stride-1 2-D convolution on TensorFlow.js' wasm backend as one matrix
 * product per filter tap, each on a view into one padded, channel-major copy of x (no per-tap copy).
 *
 * Identity used (stride 1, dilation d, leading padding pt, pl): lay x out channel-major and
 * zero-padded on a grid of Hp x Wp = (OH + (KH - 1) dh) x (OW + (KW - 1) dw) cells per image,
 * Xc[ci, m] with m = (b Hp + r) Wp + c holding x[b, r - pt, c - pl, ci], and dy on the same grid,
 * dYp[m, co] = dy[b, r, c, co] for r < OH, c < OW and 0 elsewhere. Then for every tap
 *
 *   dW[kh, kw, ci, co] = sum_m Xc[ci, m + o] dYp[m, co],   o = kh dh Wp + kw dw,
 *
 * because m + o addresses x[b, r + kh dh - pt, c + kw dw - pl] without wrapping to another row or
 * image wherever dYp is non-zero. Read as a matrix, Xc shifted by o (rows of length M = B Hp Wp)
 * is a [Cin x M] view of the same buffer starting o floats later: where a row spills into the next
 * channel (its last o entries) dYp is zero (the last (KH - 1) dh Wp + (KW - 1) dw grid cells are
 * padding). So each tap is one XNNPACK product [Cin x M] . [M x Cout] written straight into dW.
 *
 * Shapes: x B x H x W x Cin (NHWC), dy B x OH x OW x Cout, result KH x KW x Cin x Cout. Stride 1 only
 * (strided convolutions use the derived-convolution kernel in conv2d-backprop-filter.ts).
 */
import type * as tf from '@tensorflow/tfjs';
import { aliasId, baseOf, heapF32, idOf, matMulIds, releaseAlias, type WasmBackendInternals } from './wasm-heap';

/** Up to this many (tap, input channel) rows the taps are stacked into one product (see below). */
export const STACK_ROWS = 160;

/** Grid of the tap formulation (pure arithmetic; exported for tests). */
export function planFilterGradTaps(
  xShape: readonly number[],
  dyShape: readonly number[],
  filterShape: readonly number[],
  padTop: number,
  padLeft: number,
  dilations: [number, number],
): { Hp: number; Wp: number; M: number; tail: number; offsets: number[] } {
  const [B] = xShape;
  const [, OH, OW] = dyShape;
  const [KH, KW] = filterShape;
  const [dh, dw] = dilations;
  const Hp = OH + (KH - 1) * dh;
  const Wp = OW + (KW - 1) * dw;
  const offsets: number[] = [];
  for (let kh = 0; kh < KH; kh++) for (let kw = 0; kw < KW; kw++) offsets.push(kh * dh * Wp + kw * dw);
  void padTop;
  void padLeft;
  return { Hp, Wp, M: B * Hp * Wp, tail: (KH - 1) * dh * Wp + (KW - 1) * dw, offsets };
}

/**
 * dW for stride 1 on the wasm backend (see the file comment). `padTop`/`padLeft` are the forward
 * convolution's leading padding. Returns a new KH x KW x Cin x Cout tensor info owned by the caller.
 */
export function filterGradTapsWasm(
  backend: WasmBackendInternals,
  x: tf.TensorInfo,
  dy: tf.TensorInfo,
  filterShape: [number, number, number, number],
  padTop: number,
  padLeft: number,
  dilations: [number, number],
): tf.TensorInfo {
  const [B, H, W, Ci] = x.shape;
  const [, OH, OW, Co] = dy.shape;
  const [KH, KW] = filterShape;
  if (KH === 1 && KW === 1 && Co === 1 && OH === H && OW === W) {
    // A 1x1 head with one output channel: dW[0, 0, ci, 0] = sum_m dy[m] x[m, ci], i.e. dy read as
    // [1 x B*H*W] times x read as [B*H*W x Cin], both in place.
    const out1 = backend.makeOutput([1, 1, Ci, 1], 'float32');
    matMulIds(backend, idOf(backend, dy), idOf(backend, x), idOf(backend, out1), 1, B * H * W, Ci);
    return out1;
  }
  const { Hp, Wp, M, tail, offsets } = planFilterGradTaps(x.shape, dy.shape, filterShape, padTop, padLeft, dilations);

  const xc = backend.makeOutput([Ci * M + tail], 'float32');
  const dyp = backend.makeOutput([M, Co], 'float32');
  const out = backend.makeOutput([KH, KW, Ci, Co], 'float32');
  const heap = heapF32(backend);
  const xb = baseOf(backend, x);
  const dyb = baseOf(backend, dy);
  const xcb = baseOf(backend, xc);
  const dypb = baseOf(backend, dyp);

  // Xc: zero, then scatter x channel-major into its cells (rows r = y + pt, columns c = x + pl).
  heap.fill(0, xcb, xcb + Ci * M + tail);
  const y0 = Math.max(0, -padTop);
  const y1 = Math.min(H, Hp - padTop);
  const c0 = Math.max(0, -padLeft);
  const c1 = Math.min(W, Wp - padLeft);
  for (let b = 0; b < B; b++) {
    for (let y = y0; y < y1; y++) {
      const mRow = (b * Hp + y + padTop) * Wp + padLeft;
      let src = xb + ((b * H + y) * W + c0) * Ci;
      for (let c = c0; c < c1; c++) {
        let dst = xcb + mRow + c;
        for (let ci = 0; ci < Ci; ci++) {
          heap[dst] = heap[src++];
          dst += M;
        }
      }
    }
  }
  // dYp: zero, then copy each dy row (OW x Co contiguous floats) to its grid row.
  heap.fill(0, dypb, dypb + M * Co);
  const rowLen = OW * Co;
  for (let b = 0; b < B; b++) {
    for (let r = 0; r < OH; r++) {
      const src = dyb + (b * OH + r) * rowLen;
      heap.copyWithin(dypb + (b * Hp + r) * Wp * Co, src, src + rowLen);
    }
  }

  const dypId = idOf(backend, dyp);
  if (Ci * offsets.length <= STACK_ROWS) {
    // Few input channels (a network's first conv): one product over all taps at once, with the
    // tap-shifted rows of Xc stacked as [taps * Cin x M] (each row one memcpy), so XNNPACK does
    // not stream dYp once per tap for a product with a single row.
    const rows = Ci * offsets.length;
    const stacked = backend.makeOutput([rows, M], 'float32');
    const h = heapF32(backend);
    const sb = baseOf(backend, stacked);
    const xcb2 = baseOf(backend, xc);
    for (let t = 0; t < offsets.length; t++) {
      for (let ci = 0; ci < Ci; ci++) {
        const src = xcb2 + ci * M + offsets[t];
        h.copyWithin(sb + (t * Ci + ci) * M, src, src + M);
      }
    }
    matMulIds(backend, idOf(backend, stacked), dypId, idOf(backend, out), rows, M, Co);
    backend.disposeData(stacked.dataId);
    backend.disposeData(xc.dataId);
    backend.disposeData(dyp.dataId);
    return out;
  }
  for (let t = 0; t < offsets.length; t++) {
    const aId = aliasId(backend, xc, offsets[t], Ci * M);
    const oId = aliasId(backend, out, t * Ci * Co, Ci * Co);
    matMulIds(backend, aId, dypId, oId, Ci, M, Co);
    releaseAlias(backend, aId);
    releaseAlias(backend, oId);
  }
  backend.disposeData(xc.dataId);
  backend.disposeData(dyp.dataId);
  return out;
}
