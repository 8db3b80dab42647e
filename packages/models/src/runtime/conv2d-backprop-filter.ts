/**
 * The filter gradient of a 2-D convolution for backends that lack the `Conv2DBackpropFilter`
 * kernel (TensorFlow.js' wasm backend; tfjs issues #8474 and #4326).
 *
 * Identity used: for the forward convolution y = conv(x, W) with stride s, dilation d and padding
 * (pt, pl), the filter gradient
 *
 *   dW[kh, kw, ci, co] = sum_{b, oy, ox} x[b, oy*s + kh*d - pt, ox*s + kw*d - pl, ci] * dy[b, oy, ox, co]
 *
 * is itself a forward convolution: take x transposed to [ci, H, W, b] as the input (batch = ci,
 * channels = b), dy transposed to [oh, ow, b, co] as the filter, stride d, dilation s, the same
 * leading padding (pt, pl) and enough trailing padding; the result [ci, kh, kw, co] transposed to
 * [kh, kw, ci, co] is dW. Either s or d is 1 (TensorFlow.js forbids both > 1), so the derived
 * convolution is always one the backend runs natively.
 *
 * Shapes: x B x H x W x Cin (NHWC), dy B x OH x OW x Cout, result KH x KW x Cin x Cout.
 */
import * as tf from '@tensorflow/tfjs';
import { filterGradTapsWasm } from './conv2d-filter-grad-taps';
import { isWasmBackend } from './wasm-heap';
import { attrPair } from './conv-attrs';

type TensorInfo = tf.TensorInfo;
type KernelFn = (args: { inputs: Record<string, TensorInfo>; backend: unknown; attrs?: Record<string, unknown> }) => TensorInfo | TensorInfo[];

export interface BackpropFilterAttrs {
  strides: number | [number, number];
  pad: 'same' | 'valid' | number | [[number, number], [number, number], [number, number], [number, number]];
  dataFormat?: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  filterShape: [number, number, number, number];
  /** Not an attribute of TensorFlow.js' kernel (its conv gradient forbids dilation); supported here for completeness. */
  dilations?: number | [number, number];
}


/** Explicit padding (top, bottom, left, right) the forward convolution used, as TensorFlow.js computes it. */
export function forwardPadding(
  xShape: [number, number, number, number],
  attrs: BackpropFilterAttrs,
): { top: number; left: number; outH: number; outW: number } {
  const [sh, sw] = attrPair(attrs.strides);
  const [dh, dw] = attrPair(attrs.dilations);
  const info = tf.backend_util.computeConv2DInfo(
    xShape,
    attrs.filterShape,
    [sh, sw],
    [dh, dw],
    attrs.pad as never,
    attrs.dimRoundingMode,
    false,
    'channelsLast',
  );
  return { top: info.padInfo.top, left: info.padInfo.left, outH: info.outHeight, outW: info.outWidth };
}

/**
 * Plans the derived forward convolution. Exported for tests; pure arithmetic.
 * @returns the explicit padding of the derived conv and its stride/dilation.
 */
export function planBackpropFilter(
  xShape: [number, number, number, number],
  dyShape: [number, number, number, number],
  attrs: BackpropFilterAttrs,
): { pad: [[number, number], [number, number], [number, number], [number, number]]; strides: [number, number]; dilations: [number, number]; outH: number; outW: number } {
  const [sh, sw] = attrPair(attrs.strides);
  const [dh, dw] = attrPair(attrs.dilations);
  if ((sh > 1 || sw > 1) && (dh > 1 || dw > 1)) {
    throw new Error('conv2dBackpropFilter: strides and dilations cannot both exceed 1 (TensorFlow.js restriction)');
  }
  const [, H, W] = xShape;
  const [, oh, ow] = dyShape;
  const [fh, fw] = attrs.filterShape;
  const { top, left } = forwardPadding(xShape, attrs);
  // Rows of x touched by the derived conv: (fh - 1) * dh + (oh - 1) * sh + 1 starting at -top.
  const needH = (fh - 1) * dh + (oh - 1) * sh + 1;
  const needW = (fw - 1) * dw + (ow - 1) * sw + 1;
  const bottom = Math.max(0, needH - H - top);
  const right = Math.max(0, needW - W - left);
  // Derived conv: stride = forward dilation, dilation = forward stride.
  const outH = Math.floor((H + top + bottom - ((oh - 1) * sh + 1)) / dh) + 1;
  const outW = Math.floor((W + left + right - ((ow - 1) * sw + 1)) / dw) + 1;
  return {
    pad: [[0, 0], [top, bottom], [left, right], [0, 0]],
    strides: [dh, dw],
    dilations: [sh, sw],
    outH,
    outW,
  };
}

/**
 * Filter gradient with public tf ops (any backend). Inputs x (B x H x W x Cin) and dy
 * (B x OH x OW x Cout); returns KH x KW x Cin x Cout. Runs inside tf.tidy.
 */
export function conv2dBackpropFilterViaConv(x: tf.Tensor4D, dy: tf.Tensor4D, attrs: BackpropFilterAttrs): tf.Tensor4D {
  return tf.tidy(() => {
    const plan = planBackpropFilter(x.shape, dy.shape, attrs);
    const [fh, fw] = attrs.filterShape;
    const xT = tf.transpose(x, [3, 1, 2, 0]);
    const dyT = tf.transpose(dy, [1, 2, 0, 3]);
    let g = tf.conv2d(xT, dyT, plan.strides, plan.pad, 'NHWC', plan.dilations);
    if (plan.outH !== fh || plan.outW !== fw) g = tf.slice(g, [0, 0, 0, 0], [-1, fh, fw, -1]);
    return tf.transpose(g, [1, 2, 0, 3]);
  });
}

/**
 * Registers `Conv2DBackpropFilter` for `backendName` (default 'wasm'): stride 1 on the wasm backend
 * by per-tap matrix products (conv2d-filter-grad-taps.ts), otherwise by that backend's own
 * Transpose, Conv2D and Slice kernels (the derived convolution above). Idempotent; a no-op when a kernel is already registered.
 * @returns true when it registered the kernel now.
 */
export function registerConv2DBackpropFilter(backendName = 'wasm'): boolean {
  if (tf.getKernel('Conv2DBackpropFilter', backendName)) return false;
  const k = (name: string): KernelFn => {
    const cfg = tf.getKernel(name, backendName);
    if (!cfg) throw new Error(`registerConv2DBackpropFilter: backend '${backendName}' has no '${name}' kernel`);
    return cfg.kernelFunc as unknown as KernelFn;
  };
  const transpose = k('Transpose');
  const conv2d = k('Conv2D');
  const slice = k('Slice');
  tf.registerKernel({
    kernelName: 'Conv2DBackpropFilter',
    backendName,
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { x, dy } = inputs as unknown as { x: TensorInfo; dy: TensorInfo };
      const a = attrs as unknown as BackpropFilterAttrs;
      if (a.dataFormat && a.dataFormat !== 'NHWC') {
        throw new Error(`Conv2DBackpropFilter(${backendName}): only NHWC is supported, got ${a.dataFormat}`);
      }
      const [sh, sw] = attrPair(a.strides);
      if (sh === 1 && sw === 1 && isWasmBackend(backend)) {
        // Stride 1 (every conv of a U-Net): one XNNPACK product per tap on views of one buffer.
        const { top, left } = forwardPadding(x.shape as never, a);
        return filterGradTapsWasm(backend, x, dy, a.filterShape, top, left, attrPair(a.dilations));
      }
      const b = backend as { disposeData(id: unknown): void };
      const plan = planBackpropFilter(x.shape as never, dy.shape as never, a);
      const [fh, fw] = a.filterShape;
      const xT = transpose({ inputs: { x }, backend, attrs: { perm: [3, 1, 2, 0] } }) as TensorInfo;
      const dyT = transpose({ inputs: { x: dy }, backend, attrs: { perm: [1, 2, 0, 3] } }) as TensorInfo;
      let g = conv2d({
        inputs: { x: xT, filter: dyT },
        backend,
        attrs: { strides: plan.strides, pad: plan.pad, dataFormat: 'NHWC', dilations: plan.dilations, dimRoundingMode: undefined },
      }) as TensorInfo;
      b.disposeData(xT.dataId);
      b.disposeData(dyT.dataId);
      if (plan.outH !== fh || plan.outW !== fw) {
        const s = slice({ inputs: { x: g }, backend, attrs: { begin: [0, 0, 0, 0], size: [g.shape[0], fh, fw, g.shape[3]] } }) as TensorInfo;
        b.disposeData(g.dataId);
        g = s;
      }
      const out = transpose({ inputs: { x: g }, backend, attrs: { perm: [1, 2, 0, 3] } }) as TensorInfo;
      b.disposeData(g.dataId);
      return out;
    },
  });
  return true;
}
