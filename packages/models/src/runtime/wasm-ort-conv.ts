/**
 * TensorFlow.js' wasm-backend convolution kernels run through onnxruntime-node (MLAS, AVX2/FMA,
 * intra-op threads) synchronously, on the wasm heap in place: Conv2D, FusedConv2D,
 * Conv2DBackpropInput and Conv2DBackpropFilter. The wasm backend is single-threaded SIMD128;
 * these kernels were three quarters of a bench-unet train step there (docs/performance.md).
 *
 * Every call builds (once per shape and attributes, then cached by ort-sync.ts) a small ONNX
 * graph with float32 NHWC inputs and outputs, feeds it Float32Array views of the input tensors'
 * heap memory and lets onnxruntime write the result straight into a tensor made by the backend's
 * `makeOutput`. Padding is taken from TensorFlow.js' own `computeConv2DInfo`, so 'same' (with
 * its extra bottom/right row at stride 2), 'valid' and explicit padding give exactly the output
 * shape of the kernel replaced. Cases not handled here (NCHW, non-float32, empty tensors,
 * 'prelu', a bias that is not one value per output channel, dimRoundingMode giving another
 * output size) go to the kernel that was registered before.
 *
 * Notation: x B x H x W x Ci, filter W KH x KW x Ci x Co (HWIO), dy B x OH x OW x Co; stride s,
 * dilation d, padding (top, bottom, left, right).
 *
 * Forward (Conv2D, FusedConv2D): on onnxruntime's blocked-layout CPU kernels (domain
 * com.microsoft.nchwc, the ones its own graph optimiser substitutes for Conv when the weights are
 * constant) where the channel counts allow (nchwcPlan): ReorderInput (NHWC -> channel blocks)
 * -> NchwcConv (the filter, a few thousand floats, re-laid out in JavaScript on every call since
 * it changes every step) -> activation -> ReorderOutput (-> NHWC), no transposes; otherwise
 * Transpose(x, NCHW) -> Conv(W as OIHW, bias) -> activation -> Transpose(NHWC). A 1x1, stride-1,
 * unpadded convolution is one Gemm of x as [B H W x Ci].
 *
 * Input gradient (Conv2DBackpropInput), dx[h] = sum_{oh, k: oh s + k d - top = h} dy[oh] W[k]:
 * at stride 1 (padding <= (K - 1) d) the forward convolution of dy with the spatially flipped,
 * in/out-swapped filter and padding (K - 1) d - top before, (K - 1) d - bottom after (on the
 * NCHWc kernels where possible); otherwise ONNX ConvTranspose (y[i s + k d - pad_begin] +=
 * x[i] W[k], the same sum), with the trailing padding or `output_padding` chosen so the result
 * has H rows; 1x1 unpadded stride 1: one Gemm.
 *
 * Filter gradient (Conv2DBackpropFilter),
 *   dW[kh, kw, ci, co] = sum_{b, oy, ox} x[b, oy s + kh d - top, ox s + kw d - left, ci] dy[b, oy, ox, co]:
 * at stride 1, one matrix product per tap over the padded grid of conv2d-filter-grad-taps.ts
 * (Hp x Wp = (OH + (KH - 1) d) x (OW + (KW - 1) d), M = B Hp Wp cells): Xc[ci, m], x channel-major
 * with the forward padding, and dYp[m, co], dy zero-padded on the grid, give
 * dW[tap] = sum_m Xc[ci, m + o_tap] dYp[m, co] = sum_m Xc[ci, m] dYp[m - o_tap, co] with
 * o_tap = kh d Wp + kw d; the shifted dYp (Co columns, usually fewer than Ci) is one Slice of dYp
 * preceded by o_max zero rows, so x is transposed once and never copied per tap. At stride > 1:
 * Pad, Transpose to channel-major and one strided Slice of x per tap, [Ci x B OH OW] . dy.
 * Every session has one output (y, dx or dW): onnxruntime-node 1.30 copies each output into a
 * new JavaScript ArrayBuffer after the run (about 1 ms per MB here), so no large intermediate
 * is fetched.
 */
import * as tf from '@tensorflow/tfjs';
import { OnnxGraph } from '../onnx/onnx-graph';
import type { OrtSyncEngine, OrtView } from './ort-sync';
import { baseOf, heapF32, heapView, isWasmBackend, type WasmBackendInternals } from './wasm-heap';
import { attrPair } from './conv-attrs';

type TensorInfo = tf.TensorInfo;
type KernelArgs = { inputs: Record<string, TensorInfo>; backend: unknown; attrs?: Record<string, unknown> };
type KernelFn = (args: KernelArgs) => TensorInfo | TensorInfo[];
type Pad = 'same' | 'valid' | number | [[number, number], [number, number], [number, number], [number, number]];

const ONNX_OPSET = 17;
const ONNX_IR_VERSION = 8;
/** TensorFlow.js fused activations run here (ONNX op after the Conv); 'prelu' goes to the previous kernel. */
export const ORT_ACTIVATIONS = ['linear', 'relu', 'relu6', 'sigmoid', 'elu', 'leakyrelu'] as const;
type Activation = (typeof ORT_ACTIVATIONS)[number];

/** The kernel names this module replaces on the wasm backend. */
export const ORT_CONV_KERNELS = ['Conv2D', 'FusedConv2D', 'Conv2DBackpropInput', 'Conv2DBackpropFilter'] as const;

const numel = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/** Geometry of one 2-D convolution, as TensorFlow.js computes it (channels last). */
export interface ConvGeometry {
  B: number;
  H: number;
  W: number;
  Ci: number;
  KH: number;
  KW: number;
  Co: number;
  OH: number;
  OW: number;
  sh: number;
  sw: number;
  dh: number;
  dw: number;
  top: number;
  bottom: number;
  left: number;
  right: number;
}

/**
 * Geometry of the convolution of an x of `xShape` with a filter of `filterShape` (HWIO), or null
 * when onnxruntime's floor-rounded output size would differ from TensorFlow.js' (a
 * `dimRoundingMode` other than floor with a numeric pad). Pure arithmetic; exported for tests.
 */
export function convGeometry(
  xShape: readonly number[],
  filterShape: readonly number[],
  attrs: { strides: unknown; pad: Pad; dilations?: unknown; dimRoundingMode?: 'floor' | 'round' | 'ceil' },
): ConvGeometry | null {
  const [sh, sw] = attrPair(attrs.strides);
  const [dh, dw] = attrPair(attrs.dilations);
  const info = tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    [sh, sw],
    [dh, dw],
    attrs.pad as never,
    attrs.dimRoundingMode,
    false,
    'channelsLast',
  );
  const { top, bottom, left, right } = info.padInfo;
  const [B, H, W, Ci] = xShape;
  const [KH, KW, , Co] = filterShape;
  const oh = Math.floor((H + top + bottom - ((KH - 1) * dh + 1)) / sh) + 1;
  const ow = Math.floor((W + left + right - ((KW - 1) * dw + 1)) / sw) + 1;
  if (oh !== info.outHeight || ow !== info.outWidth || top < 0 || bottom < 0 || left < 0 || right < 0) return null;
  return { B, H, W, Ci, KH, KW, Co, OH: oh, OW: ow, sh, sw, dh, dw, top, bottom, left, right };
}

const geomKey = (g: ConvGeometry) =>
  `${g.B}x${g.H}x${g.W}x${g.Ci}|${g.KH}x${g.KW}x${g.Co}|s${g.sh},${g.sw}|d${g.dh},${g.dw}|p${g.top},${g.bottom},${g.left},${g.right}`;

/** True for a 1x1 convolution that is a plain matrix product over pixels (stride 1, no padding). */
const isPointwise = (g: ConvGeometry) =>
  g.KH === 1 && g.KW === 1 && g.sh === 1 && g.sw === 1 && g.top === 0 && g.bottom === 0 && g.left === 0 && g.right === 0;

/** The ONNX bytes of a kernel graph (opset 17, IR 8) for the onnxruntime kernels of this folder. */
export function encodeKernelGraph(g: OnnxGraph, name: string, kind: 'conv' | 'matmul' = 'conv'): Uint8Array {
  return g.encode({ name, irVersion: ONNX_IR_VERSION, opset: ONNX_OPSET, docString: `mrlseg wasm+onnxruntime ${kind} kernel` });
}

/** Appends the ONNX form of a TensorFlow.js fused activation to `v`; returns the new value name. */
function activate(g: OnnxGraph, v: string, act: Activation, alpha: number): string {
  if (act === 'linear') return v;
  if (act === 'relu') return g.node('Relu', [v])[0];
  if (act === 'sigmoid') return g.node('Sigmoid', [v])[0];
  // Elu's default alpha is TensorFlow.js' (1).
  if (act === 'elu') return g.node('Elu', [v])[0];
  if (act === 'leakyrelu') {
    // x < 0 ? alpha x : x  ==  max(x, alpha x) for alpha <= 1, min(x, alpha x) otherwise (any sign
    // of alpha); written with Mul so that an integral alpha needs no float attribute.
    const ax = g.node('Mul', [v, g.floatTensor('leaky_alpha', [alpha], [])])[0];
    return g.node(alpha <= 1 ? 'Max' : 'Min', [v, ax])[0];
  }
  return g.node('Clip', [v, g.floatTensor('relu6_min', [0], []), g.floatTensor('relu6_max', [6], [])])[0];
}

/**
 * Largest piece, in floats (2 MiB), in which a kernel's output is fetched from onnxruntime.
 * onnxruntime-node 1.30 copies every fetched output into a new JavaScript buffer; for buffers of
 * 6 MB and more that allocation comes from fresh pages and costs about twice as much as for
 * smaller ones (a 12.6 MB ReLU output: 16.6 ms fetched whole or in 2 pieces, 7.2-7.5 ms in 4, 8 or
 * 16; 2026-11-30), so large outputs are split along their flat index into graph outputs
 * `<name>_piece0`, `<name>_piece1`, ... that land in consecutive views of the same tensor.
 */
export const ORT_OUTPUT_PIECE = 1 << 19;
let outputPiece = ORT_OUTPUT_PIECE;

/** Sets the piece size (floats; tests use small ones). Releases the cached sessions, whose outputs were cut for the old size. */
export function setOrtOutputPiece(n: number): void {
  if (!Number.isInteger(n) || n < 1) throw new Error(`setOrtOutputPiece: n must be a positive integer, got ${n}`);
  outputPiece = n;
  engine?.clear();
}

/** Sizes of the pieces an output of n floats is fetched in (one piece up to the piece size, ORT_OUTPUT_PIECE by default). */
export function outputPieces(n: number): number[] {
  const k = Math.max(1, Math.ceil(n / outputPiece));
  const base = Math.ceil(n / k);
  return Array.from({ length: k }, (_, i) => Math.min(base, n - i * base)).filter((m) => m > 0);
}

/**
 * Declares graph output `name` (dims) for the value the caller writes to the returned name: the
 * output itself when it fits one piece, else an internal value that a Split cuts into the
 * pieces of outputPieces (fetch them with `fetchOutput`).
 */
function outputValue(g: OnnxGraph, name: string, dims: readonly number[]): { value: string; finish: () => void } {
  const sizes = outputPieces(numel(dims));
  if (sizes.length === 1) return { value: name, finish: () => g.output(name, [...dims]) };
  const value = g.fresh(`${name}_whole`);
  return {
    value,
    finish: () => {
      const flat = g.node('Reshape', [value, g.int64Tensor(`${name}_flat`, [numel(dims)])])[0];
      const outs = sizes.map((_, i) => `${name}_piece${i}`);
      g.node('Split', [flat, g.int64Tensor(`${name}_pieces`, sizes)], { axis: 0 }, { outputs: outs });
      outs.forEach((o, i) => g.output(o, [sizes[i]]));
    },
  };
}

/** The fetches of output `name` declared by outputValue: its view, or one view per piece. */
export function fetchOutput(name: string, v: OrtView): Record<string, OrtView> {
  const sizes = outputPieces(numel(v.dims));
  if (sizes.length === 1) return { [name]: v };
  const f: Record<string, OrtView> = {};
  let at = 0;
  sizes.forEach((m, i) => {
    f[`${name}_piece${i}`] = { data: v.data.subarray(at, at + m), dims: [m] };
    at += m;
  });
  return f;
}

/** onnxruntime's domain of its blocked-layout ("NCHWc") CPU kernels. */
const NCHWC = 'com.microsoft.nchwc';

/**
 * Layout of a convolution on onnxruntime's NCHWc kernels (MLAS), which take no transposes: an
 * NHWC input goes through ReorderInput (channels_last) to channel blocks of `block` floats
 * (Ci padded up to a block multiple; Ci % 4 == 0 required), or, with fewer than `block` input
 * channels, is read as plain NCHW (a Reshape when Ci = 1); NchwcConv computes Co padded to a
 * block multiple; ReorderOutput (channels_last) writes NHWC with the Co real channels.
 * null when this input channel count cannot use it.
 */
export function nchwcPlan(ci: number, co: number, block: number): { blockedInput: boolean; ciP: number; coP: number } | null {
  if (block < 4) return null;
  const coP = Math.ceil(co / block) * block;
  if (ci < block) return { blockedInput: false, ciP: ci, coP };
  if (ci % 4 !== 0) return null;
  return { blockedInput: true, ciP: Math.ceil(ci / block) * block, coP };
}

/**
 * The filter value f(o, i, kh, kw) in NchwcConv's layout (MLAS' filter reorder): with a blocked
 * input, [Co/b][Ci/b][KH][KW][b (input)][b (output)], else [Co/b][Ci][KH][KW][b (output)];
 * padded channels are 0. Written into `out` (length coP * ciP * KH * KW).
 */
export function blockFilter(
  out: Float32Array,
  f: (o: number, i: number, kh: number, kw: number) => number,
  co: number,
  ci: number,
  KH: number,
  KW: number,
  block: number,
  plan: { blockedInput: boolean; ciP: number; coP: number },
): void {
  out.fill(0);
  const K = KH * KW;
  for (let o = 0; o < co; o++) {
    const ob = Math.floor(o / block);
    const bo = o % block;
    for (let i = 0; i < ci; i++) {
      for (let kh = 0; kh < KH; kh++) {
        for (let kw = 0; kw < KW; kw++) {
          const k = kh * KW + kw;
          const idx = plan.blockedInput
            ? (((ob * (plan.ciP / block) + Math.floor(i / block)) * K + k) * block + (i % block)) * block + bo
            : ((ob * ci + i) * K + k) * block + bo;
          out[idx] = f(o, i, kh, kw);
        }
      }
    }
  }
}

/**
 * ONNX model of a convolution on the NCHWc kernels: inputs x (NHWC, C channels), w (blocked,
 * see blockFilter)[, b (coP)]; output y (NHWC, Co channels). `conv` carries the Conv attributes.
 */
export function nchwcConvModel(
  xShape: readonly number[],
  co: number,
  outShape: readonly number[],
  block: number,
  conv: { kernel_shape: number[]; strides: number[]; dilations: number[]; pads: number[] },
  opts: { bias: boolean; activation: Activation; alpha: number },
): Uint8Array {
  const [B, H, W, C] = xShape;
  const plan = nchwcPlan(C, co, block)!;
  const g = new OnnxGraph();
  g.input('x', [...xShape]);
  g.input('w', [plan.coP, plan.ciP, ...conv.kernel_shape]);
  if (opts.bias) g.input('b', [plan.coP]);
  let xin: string;
  if (plan.blockedInput) xin = g.node('ReorderInput', ['x'], { channels_last: 1 }, { domain: NCHWC })[0];
  else if (C === 1) xin = g.node('Reshape', ['x', g.int64Tensor('x_nchw', [B, 1, H, W])])[0];
  else xin = g.node('Transpose', ['x'], { perm: [0, 3, 1, 2] })[0];
  const y = g.node('Conv', opts.bias ? [xin, 'w', 'b'] : [xin, 'w'], { ...conv, group: 1 }, { domain: NCHWC })[0];
  // Elementwise activations act on the blocked layout as on any other; padded channels are dropped below.
  const act = activate(g, y, opts.activation, opts.alpha);
  const out = outputValue(g, 'y', outShape);
  g.node('ReorderOutput', [act], { channels: co, channels_last: 1 }, { outputs: [out.value], domain: NCHWC });
  out.finish();
  return encodeKernelGraph(g, 'conv2d_nchwc');
}

/** Probe model: the padded channel count ReorderInput gives 4 channels, i.e. the NCHWc block size (as float). */
function blockProbeModel(): Uint8Array {
  const g = new OnnxGraph();
  g.input('x', [1, 1, 1, 4]);
  const r = g.node('ReorderInput', ['x'], { channels_last: 1 }, { domain: NCHWC })[0];
  const shape = g.node('Shape', [r])[0];
  g.node('Cast', [shape], { to: 1 }, { outputs: ['shape'] });
  g.output('shape', [4]);
  return encodeKernelGraph(g, 'nchwc_block_probe');
}

const blockSizes = new WeakMap<OrtSyncEngine, number>();

/**
 * MLAS' NCHWc block size in `e` (8 with AVX2, 16 with AVX-512F), probed once; 0 when this
 * onnxruntime build has no NCHWc kernels (then every convolution takes the transpose path).
 */
export function nchwcBlockSize(e: OrtSyncEngine): number {
  let b = blockSizes.get(e);
  if (b === undefined) {
    try {
      const shape = new Float32Array(4);
      e.run('nchwc_block_probe', blockProbeModel, { x: { data: new Float32Array(4), dims: [1, 1, 1, 4] } }, { shape: { data: shape, dims: [4] } });
      b = shape[1] >= 4 && shape[1] % 4 === 0 ? shape[1] : 0;
    } catch {
      b = 0;
    }
    blockSizes.set(e, b);
  }
  return b;
}

/** ONNX model of the forward convolution: inputs x (NHWC), w (HWIO)[, b (Co)]; output y (NHWC). */
export function forwardModel(geo: ConvGeometry, opts: { bias: boolean; activation: Activation; alpha: number }): Uint8Array {
  const { B, H, W, Ci, KH, KW, Co, OH, OW } = geo;
  const g = new OnnxGraph();
  g.input('x', [B, H, W, Ci]);
  g.input('w', [KH, KW, Ci, Co]);
  if (opts.bias) g.input('b', [Co]);
  let y: string;
  if (isPointwise(geo)) {
    const xm = g.node('Reshape', ['x', g.int64Tensor('x_rows', [B * H * W, Ci])])[0];
    const wm = g.node('Reshape', ['w', g.int64Tensor('w_rows', [Ci, Co])])[0];
    const prod = opts.bias ? g.node('Gemm', [xm, wm, 'b'])[0] : g.node('MatMul', [xm, wm])[0];
    const act = activate(g, prod, opts.activation, opts.alpha);
    y = g.node('Reshape', [act, g.int64Tensor('y_shape', [B, OH, OW, Co])])[0];
  } else {
    const xt = g.node('Transpose', ['x'], { perm: [0, 3, 1, 2] })[0];
    const wt = g.node('Transpose', ['w'], { perm: [3, 2, 0, 1] })[0];
    const conv = g.node('Conv', opts.bias ? [xt, wt, 'b'] : [xt, wt], {
      kernel_shape: [KH, KW],
      strides: [geo.sh, geo.sw],
      dilations: [geo.dh, geo.dw],
      pads: [geo.top, geo.left, geo.bottom, geo.right],
    })[0];
    const act = activate(g, conv, opts.activation, opts.alpha);
    y = g.node('Transpose', [act], { perm: [0, 2, 3, 1] })[0];
  }
  const out = outputValue(g, 'y', [B, OH, OW, Co]);
  g.node('Identity', [y], {}, { outputs: [out.value] });
  out.finish();
  return encodeKernelGraph(g, 'conv2d');
}

/** ONNX model of the input gradient: inputs dy (NHWC), w (HWIO); output dx (NHWC, B x H x W x Ci). */
export function backpropInputModel(geo: ConvGeometry): Uint8Array {
  const { B, H, W, Ci, KH, KW, Co, OH, OW, sh, sw, dh, dw, top, bottom, left, right } = geo;
  const g = new OnnxGraph();
  g.input('dy', [B, OH, OW, Co]);
  g.input('w', [KH, KW, Ci, Co]);
  let dx: string;
  if (isPointwise(geo)) {
    const dym = g.node('Reshape', ['dy', g.int64Tensor('dy_rows', [B * OH * OW, Co])])[0];
    const wm = g.node('Reshape', ['w', g.int64Tensor('w_rows', [Ci, Co])])[0];
    const prod = g.node('Gemm', [dym, wm], { transB: 1 })[0];
    dx = g.node('Reshape', [prod, g.int64Tensor('dx_shape', [B, H, W, Ci])])[0];
  } else {
    const dyt = g.node('Transpose', ['dy'], { perm: [0, 3, 1, 2] })[0];
    const flipPad = [(KH - 1) * dh - top, (KW - 1) * dw - left, (KH - 1) * dh - bottom, (KW - 1) * dw - right];
    let conv: string;
    if (sh === 1 && sw === 1 && flipPad.every((p) => p >= 0)) {
      // W[kh, kw, ci, co] -> [ci, co, kh, kw], reversed along kh and kw.
      const wt = g.node('Transpose', ['w'], { perm: [2, 3, 0, 1] })[0];
      const big = -(2 ** 31);
      const wf = g.node('Slice', [wt, g.int64Tensor('flip_starts', [-1, -1]), g.int64Tensor('flip_ends', [big, big]), g.int64Tensor('flip_axes', [2, 3]), g.int64Tensor('flip_steps', [-1, -1])])[0];
      conv = g.node('Conv', [dyt, wf], { kernel_shape: [KH, KW], dilations: [dh, dw], pads: flipPad })[0];
    } else {
      // ConvTranspose weight layout [C_in of the transpose = Co, Ci, KH, KW].
      const wt = g.node('Transpose', ['w'], { perm: [3, 2, 0, 1] })[0];
      const endH = sh * (OH - 1) + (KH - 1) * dh + 1 - top - H;
      const endW = sw * (OW - 1) + (KW - 1) * dw + 1 - left - W;
      conv = g.node('ConvTranspose', [dyt, wt], {
        kernel_shape: [KH, KW],
        strides: [sh, sw],
        dilations: [dh, dw],
        pads: [top, left, Math.max(0, endH), Math.max(0, endW)],
        output_padding: [Math.max(0, -endH), Math.max(0, -endW)],
      })[0];
    }
    dx = g.node('Transpose', [conv], { perm: [0, 2, 3, 1] })[0];
  }
  const out = outputValue(g, 'dx', [B, H, W, Ci]);
  g.node('Identity', [dx], {}, { outputs: [out.value] });
  out.finish();
  return encodeKernelGraph(g, 'conv2d_backprop_input');
}

/** Grid of the stride-1 tap formulation (see the file comment); pure arithmetic, exported for tests. */
export function tapGrid(geo: ConvGeometry): { Hp: number; Wp: number; M: number; tail: number; offsets: number[] } {
  const Hp = geo.OH + (geo.KH - 1) * geo.dh;
  const Wp = geo.OW + (geo.KW - 1) * geo.dw;
  const offsets: number[] = [];
  for (let kh = 0; kh < geo.KH; kh++) for (let kw = 0; kw < geo.KW; kw++) offsets.push(kh * geo.dh * Wp + kw * geo.dw);
  return { Hp, Wp, M: geo.B * Hp * Wp, tail: offsets[offsets.length - 1], offsets };
}

/**
 * ONNX model of the stride-1 filter gradient: inputs x, dy (NHWC); output dw (KH KW Ci x Co).
 * Xc = x channel-major, zero-padded as the forward convolution pads it ([Ci x M] on the grid
 * Hp x Wp; at stride 1, Hp = H + top + bottom). dy is zero-padded on the same grid, flattened to
 * dYp [M x Co] and preceded by o_max zero rows, so that the rows shifted by a tap,
 * dYp[m - o_tap], are one Slice; then dW[tap] = Xc . dYp[. - o_tap] (a MatMul per tap).
 */
export function filterGradTapsModel(geo: ConvGeometry): Uint8Array {
  const { B, H, W, Ci, Co, OH, OW, KH, KW, top, bottom, left, right } = geo;
  const { Hp, Wp, M, tail, offsets } = tapGrid(geo);
  const g = new OnnxGraph();
  g.input('x', [B, H, W, Ci]);
  g.input('dy', [B, OH, OW, Co]);
  const xt = g.node('Transpose', ['x'], { perm: [3, 0, 1, 2] })[0];
  const xp = g.node('Pad', [xt, g.int64Tensor('x_pads', [0, 0, top, left, 0, 0, bottom, right])])[0];
  const xc = g.node('Reshape', [xp, g.int64Tensor('xc_shape', [Ci, M])])[0];
  const dyp = g.node('Pad', ['dy', g.int64Tensor('dy_pads', [0, 0, 0, 0, 0, Hp - OH, Wp - OW, 0])])[0];
  const rows = g.node('Reshape', [dyp, g.int64Tensor('dy_rows', [M, Co])])[0];
  const shifted = tail > 0 ? g.node('Pad', [rows, g.int64Tensor('dy_lead', [tail, 0, 0, 0])])[0] : rows;
  const parts: string[] = [];
  offsets.forEach((o, t) => {
    const d = tail > 0 ? g.node('Slice', [shifted, g.int64Tensor(`tap_start_${t}`, [tail - o]), g.int64Tensor(`tap_end_${t}`, [tail - o + M]), g.int64Tensor('rows_axis', [0])])[0] : rows;
    parts.push(g.node('MatMul', [xc, d])[0]);
  });
  const cat = parts.length > 1 ? g.node('Concat', parts, { axis: 0 })[0] : parts[0];
  g.node('Identity', [cat], {}, { outputs: ['dw'] });
  g.output('dw', [KH * KW * Ci, Co]);
  return encodeKernelGraph(g, 'conv2d_backprop_filter_taps');
}

/** ONNX model of the strided filter gradient: inputs x, dy (NHWC); output dw (KH KW Ci x Co). */
export function filterGradStridedModel(geo: ConvGeometry): Uint8Array {
  const { B, H, W, Ci, KH, KW, Co, OH, OW, sh, sw, dh, dw, top, bottom, left, right } = geo;
  const g = new OnnxGraph();
  g.input('x', [B, H, W, Ci]);
  g.input('dy', [B, OH, OW, Co]);
  const xt = g.node('Transpose', ['x'], { perm: [3, 0, 1, 2] })[0];
  const xp = g.node('Pad', [xt, g.int64Tensor('x_pads', [0, 0, top, left, 0, 0, bottom, right])])[0];
  const d = g.node('Reshape', ['dy', g.int64Tensor('dy_rows', [B * OH * OW, Co])])[0];
  const rows = g.int64Tensor('tap_rows', [Ci, B * OH * OW]);
  const axes = g.int64Tensor('tap_axes', [2, 3]);
  const steps = g.int64Tensor('tap_steps', [sh, sw]);
  const parts: string[] = [];
  for (let kh = 0; kh < KH; kh++) {
    for (let kw = 0; kw < KW; kw++) {
      const y0 = kh * dh;
      const x0 = kw * dw;
      const starts = g.int64Tensor(`tap_starts_${kh}_${kw}`, [y0, x0]);
      const ends = g.int64Tensor(`tap_ends_${kh}_${kw}`, [y0 + (OH - 1) * sh + 1, x0 + (OW - 1) * sw + 1]);
      const s = g.node('Slice', [xp, starts, ends, axes, steps])[0];
      parts.push(g.node('MatMul', [g.node('Reshape', [s, rows])[0], d])[0]);
    }
  }
  const cat = parts.length > 1 ? g.node('Concat', parts, { axis: 0 })[0] : parts[0];
  g.node('Identity', [cat], {}, { outputs: ['dw'] });
  g.output('dw', [KH * KW * Ci, Co]);
  return encodeKernelGraph(g, 'conv2d_backprop_filter_strided');
}

/**
 * Convolutions (forward and input gradient) with fewer multiply-adds per output element than this
 * stay on the wasm backend's kernels. onnxruntime-node 1.30 copies every fetched output into a new
 * JavaScript buffer after the run (about 1.2 ms per MB here), which costs more than XNNPACK's
 * whole computation for such layers: a 3x3 convolution of a 1-channel image (9 per output) or the
 * input gradient of a 1x1, 1-channel head (1 per output) took 4.9 and 5.4 ms of onnxruntime time
 * per bench-unet step, almost all of it that copy (2026-11-30, docs/performance.md).
 */
export const ORT_MIN_MACS_PER_OUTPUT = 32;
let minMacsPerOutput = ORT_MIN_MACS_PER_OUTPUT;

/** Sets that threshold (0: every convolution goes to onnxruntime, e.g. to test its kernels). */
export function setOrtMinMacsPerOutput(n: number): void {
  if (!(n >= 0)) throw new Error(`setOrtMinMacsPerOutput: n must be a non-negative number, got ${n}`);
  minMacsPerOutput = n;
}

let engine: OrtSyncEngine | null = null;

/** Sets the onnxruntime engine the kernels use (null: every call goes to the previous kernels). */
export function setOrtConvEngine(e: OrtSyncEngine | null): void {
  engine = e;
}

/** The engine now in use, or null. */
export function ortConvEngine(): OrtSyncEngine | null {
  return engine;
}


const usable = (backend: unknown, ts: TensorInfo[]): backend is WasmBackendInternals =>
  engine !== null && isWasmBackend(backend) && ts.every((t) => t.dtype === 'float32' && t.shape.length === 4 && numel(t.shape) > 0);

const nhwc = (attrs: Record<string, unknown> | undefined) => (attrs?.dataFormat ?? 'NHWC') === 'NHWC';

/** Scratch arrays for blocked filters and padded biases, one per length (reused across calls). */
const scratch = new Map<number, Float32Array>();
const scratchOf = (n: number, slot: number) => {
  const k = n * 4 + slot;
  let a = scratch.get(k);
  if (!a) {
    a = new Float32Array(n);
    scratch.set(k, a);
  }
  return a;
};

function conv2dOrt(backend: WasmBackendInternals, x: TensorInfo, filter: TensorInfo, bias: TensorInfo | undefined, attrs: Record<string, unknown>, activation: Activation, alpha: number): TensorInfo | null {
  const geo = convGeometry(x.shape, filter.shape, attrs as never);
  if (!geo || geo.KH * geo.KW * geo.Ci < minMacsPerOutput) return null;
  if (bias && numel(bias.shape) !== geo.Co) return null;
  const actKey = `${bias ? 'b' : ''}|${activation}${activation === 'leakyrelu' ? alpha : ''}`;
  const out = backend.makeOutput([geo.B, geo.OH, geo.OW, geo.Co], 'float32');
  const heap = heapF32(backend);
  const block = isPointwise(geo) ? 0 : nchwcBlockSize(engine!);
  const plan = block ? nchwcPlan(geo.Ci, geo.Co, block) : null;
  if (plan) {
    const { KH, KW, Ci, Co } = geo;
    const wb = baseOf(backend, filter);
    const w = scratchOf(plan.coP * plan.ciP * KH * KW, 0);
    blockFilter(w, (o, i, kh, kw) => heap[wb + ((kh * KW + kw) * Ci + i) * Co + o], Co, Ci, KH, KW, block, plan);
    const feeds: Record<string, OrtView> = { x: heapView(backend, heap, x), w: { data: w, dims: [plan.coP, plan.ciP, KH, KW] } };
    if (bias) {
      const b = scratchOf(plan.coP, 1);
      b.fill(0);
      b.set(heap.subarray(baseOf(backend, bias), baseOf(backend, bias) + Co));
      feeds.b = { data: b, dims: [plan.coP] };
    }
    const conv = { kernel_shape: [KH, KW], strides: [geo.sh, geo.sw], dilations: [geo.dh, geo.dw], pads: [geo.top, geo.left, geo.bottom, geo.right] };
    engine!.run(`fwd_nchwc${block}|${geomKey(geo)}|${actKey}`, () => nchwcConvModel(x.shape, Co, out.shape, block, conv, { bias: !!bias, activation, alpha }), feeds, fetchOutput('y', heapView(backend, heap, out)));
    return out;
  }
  const feeds: Record<string, OrtView> = { x: heapView(backend, heap, x), w: heapView(backend, heap, filter) };
  if (bias) feeds.b = heapView(backend, heap, bias, [geo.Co]);
  engine!.run(`fwd|${geomKey(geo)}|${actKey}`, () => forwardModel(geo, { bias: !!bias, activation, alpha }), feeds, fetchOutput('y', heapView(backend, heap, out)));
  return out;
}

function backpropInputOrt(backend: WasmBackendInternals, dy: TensorInfo, filter: TensorInfo, attrs: Record<string, unknown>): TensorInfo | null {
  const inputShape = attrs.inputShape as number[];
  const geo = convGeometry(inputShape, filter.shape, attrs as never);
  if (!geo || geo.OH !== dy.shape[1] || geo.OW !== dy.shape[2] || geo.B !== dy.shape[0]) return null;
  // Multiply-adds per dx element: about KH KW Co / (sh sw).
  if ((geo.KH * geo.KW * geo.Co) / (geo.sh * geo.sw) < minMacsPerOutput) return null;
  const out = backend.makeOutput([geo.B, geo.H, geo.W, geo.Ci], 'float32');
  const heap = heapF32(backend);
  const { KH, KW, Ci, Co, dh, dw } = geo;
  const flipPads = [(KH - 1) * dh - geo.top, (KW - 1) * dw - geo.left, (KH - 1) * dh - geo.bottom, (KW - 1) * dw - geo.right];
  const block = isPointwise(geo) || geo.sh !== 1 || geo.sw !== 1 || flipPads.some((p) => p < 0) ? 0 : nchwcBlockSize(engine!);
  // The flipped convolution's input is dy (Co channels) and its output dx (Ci channels).
  const plan = block ? nchwcPlan(Co, Ci, block) : null;
  if (plan) {
    const wb = baseOf(backend, filter);
    const w = scratchOf(plan.coP * plan.ciP * KH * KW, 2);
    // Flipped filter: W'[o = ci, i = co, kh, kw] = W[KH - 1 - kh, KW - 1 - kw, ci, co].
    blockFilter(w, (o, i, kh, kw) => heap[wb + (((KH - 1 - kh) * KW + (KW - 1 - kw)) * Ci + o) * Co + i], Ci, Co, KH, KW, block, plan);
    const conv = { kernel_shape: [KH, KW], strides: [1, 1], dilations: [dh, dw], pads: flipPads };
    engine!.run(
      `dx_nchwc${block}|${geomKey(geo)}`,
      () => nchwcConvModel(dy.shape, Ci, out.shape, block, conv, { bias: false, activation: 'linear', alpha: 0 }),
      { x: heapView(backend, heap, dy), w: { data: w, dims: [plan.coP, plan.ciP, KH, KW] } },
      fetchOutput('y', heapView(backend, heap, out)),
    );
    return out;
  }
  engine!.run(`dx|${geomKey(geo)}`, () => backpropInputModel(geo), { dy: heapView(backend, heap, dy), w: heapView(backend, heap, filter) }, fetchOutput('dx', heapView(backend, heap, out)));
  return out;
}

function backpropFilterOrt(backend: WasmBackendInternals, x: TensorInfo, dy: TensorInfo, attrs: Record<string, unknown>): TensorInfo | null {
  const filterShape = attrs.filterShape as number[];
  const geo = convGeometry(x.shape, filterShape, attrs as never);
  if (!geo || geo.OH !== dy.shape[1] || geo.OW !== dy.shape[2]) return null;
  const key = geomKey(geo);
  const out = backend.makeOutput([geo.KH, geo.KW, geo.Ci, geo.Co], 'float32');
  const outDims = [geo.KH * geo.KW * geo.Ci, geo.Co];
  if (geo.sh !== 1 || geo.sw !== 1) {
    const heap = heapF32(backend);
    engine!.run(`dw_strided|${key}`, () => filterGradStridedModel(geo), { x: heapView(backend, heap, x), dy: heapView(backend, heap, dy) }, { dw: heapView(backend, heap, out, outDims) });
    return out;
  }
  const heap = heapF32(backend);
  engine!.run(`dw_taps|${key}`, () => filterGradTapsModel(geo), { x: heapView(backend, heap, x), dy: heapView(backend, heap, dy) }, { dw: heapView(backend, heap, out, outDims) });
  return out;
}

/**
 * Wraps Conv2D, FusedConv2D, Conv2DBackpropInput and Conv2DBackpropFilter of `backendName`
 * (wasm) so that, while an engine is set (setOrtConvEngine), they run through onnxruntime; the
 * kernels registered before stay in use for everything else. Register the other wasm training
 * kernels (conv2d-backprop-*.ts) first: they become the fallbacks. Idempotent.
 * @returns the kernel names wrapped now.
 */
export function registerOrtConvKernels(backendName = 'wasm'): string[] {
  const done: string[] = [];
  const wrap = (name: (typeof ORT_CONV_KERNELS)[number], make: (previous: KernelFn) => KernelFn) => {
    const existing = tf.getKernel(name, backendName) as (tf.KernelConfig & { mrlsegOrt?: boolean }) | undefined;
    if (!existing) throw new Error(`registerOrtConvKernels: backend '${backendName}' has no '${name}' kernel; register the wasm training kernels first`);
    if (existing.mrlsegOrt) return;
    const previous = existing.kernelFunc as unknown as KernelFn;
    tf.unregisterKernel(name, backendName);
    tf.registerKernel({ ...existing, kernelName: name, backendName, mrlsegOrt: true, kernelFunc: make(previous) as unknown as tf.KernelFunc } as tf.KernelConfig);
    done.push(name);
  };
  wrap('Conv2D', (previous) => (args) => {
    const { x, filter } = args.inputs;
    const r = usable(args.backend, [x, filter]) && nhwc(args.attrs) ? conv2dOrt(args.backend, x, filter, undefined, args.attrs!, 'linear', 0) : null;
    return r ?? previous(args);
  });
  wrap('FusedConv2D', (previous) => (args) => {
    const { x, filter, bias, preluActivationWeights } = args.inputs;
    const act = ((args.attrs?.activation as string | undefined) ?? 'linear') as Activation;
    const ok =
      !preluActivationWeights &&
      (ORT_ACTIVATIONS as readonly string[]).includes(act) &&
      usable(args.backend, [x, filter]) &&
      (!bias || bias.dtype === 'float32') &&
      nhwc(args.attrs);
    const r = ok ? conv2dOrt(args.backend as WasmBackendInternals, x, filter, bias, args.attrs!, act, (args.attrs?.leakyreluAlpha as number | undefined) ?? 0.2) : null;
    return r ?? previous(args);
  });
  wrap('Conv2DBackpropInput', (previous) => (args) => {
    const { dy, filter } = args.inputs;
    const r = usable(args.backend, [dy, filter]) && nhwc(args.attrs) ? backpropInputOrt(args.backend, dy, filter, args.attrs!) : null;
    return r ?? previous(args);
  });
  wrap('Conv2DBackpropFilter', (previous) => (args) => {
    const { x, dy } = args.inputs;
    const r = usable(args.backend, [x, dy]) && nhwc(args.attrs) ? backpropFilterOrt(args.backend, x, dy, args.attrs!) : null;
    return r ?? previous(args);
  });
  return done;
}
