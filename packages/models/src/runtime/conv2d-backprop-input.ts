/**
 * The input gradient of a 2-D convolution as a forward convolution, for backends whose native
 * `Conv2DBackpropInput` is slow (TensorFlow.js' wasm backend runs it as a plain loop, about 8x
 * slower than its XNNPACK forward convolution on the bench-unet).
 *
 * Identity used: with forward stride s, dilation d and leading padding pt,
 *
 *   dx[i] = sum_k dyu[i + pt - k*d] * W[k]
 *
 * where dyu is dy with s - 1 zeros inserted between neighbours. Substituting k' = K - 1 - k gives a
 * forward convolution of dyu with the spatially flipped filter (input and output channels swapped),
 * dilation d, stride 1, leading padding (K - 1) * d - pt and enough trailing padding for H rows.
 *
 * Shapes: dy B x OH x OW x Cout, filter KH x KW x Cin x Cout, result B x H x W x Cin (NHWC).
 */
import * as tf from '@tensorflow/tfjs';
import { forwardPadding, type BackpropFilterAttrs } from './conv2d-backprop-filter';
import { attrPair } from './conv-attrs';

type TensorInfo = tf.TensorInfo;
type KernelFn = (args: { inputs: Record<string, TensorInfo>; backend: unknown; attrs?: Record<string, unknown> }) => TensorInfo | TensorInfo[];

export interface BackpropInputAttrs {
  strides: number | [number, number];
  pad: BackpropFilterAttrs['pad'];
  dataFormat?: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  inputShape: [number, number, number, number];
  dilations?: number | [number, number];
}


/** Plans the derived convolution (pure arithmetic; exported for tests). */
export function planBackpropInput(
  dyShape: [number, number, number, number],
  filterShape: [number, number, number, number],
  attrs: BackpropInputAttrs,
): { pad: [[number, number], [number, number], [number, number], [number, number]]; dilations: [number, number]; upH: number; upW: number; outH: number; outW: number; strides: [number, number] } {
  const [sh, sw] = attrPair(attrs.strides);
  const [dh, dw] = attrPair(attrs.dilations);
  const [, H, W] = attrs.inputShape;
  const [, oh, ow] = dyShape;
  const [fh, fw] = filterShape;
  const { top, left } = forwardPadding(attrs.inputShape, { ...attrs, filterShape } as BackpropFilterAttrs);
  const upH = (oh - 1) * sh + 1;
  const upW = (ow - 1) * sw + 1;
  const pt = (fh - 1) * dh - top;
  const pl = (fw - 1) * dw - left;
  if (pt < 0 || pl < 0) throw new Error('conv2dBackpropInput: padding larger than the dilated filter is not supported');
  const pb = Math.max(0, H + (fh - 1) * dh - pt - upH);
  const pr = Math.max(0, W + (fw - 1) * dw - pl - upW);
  const outH = pt + upH + pb - (fh - 1) * dh;
  const outW = pl + upW + pr - (fw - 1) * dw;
  return { pad: [[0, 0], [pt, pb], [pl, pr], [0, 0]], dilations: [dh, dw], upH, upW, outH, outW, strides: [sh, sw] };
}

/**
 * Registers the fast `Conv2DBackpropInput` for `backendName`, replacing the backend's own
 * (tfjs keeps one kernel per name and backend; the old one is unregistered first).
 * @returns true when it (re)registered the kernel now.
 */
export function registerConv2DBackpropInput(backendName = 'wasm'): boolean {
  const existing = tf.getKernel('Conv2DBackpropInput', backendName) as (tf.KernelConfig & { mrlseg?: boolean }) | undefined;
  if (existing?.mrlseg) return false;
  const k = (name: string): KernelFn => {
    const cfg = tf.getKernel(name, backendName);
    if (!cfg) throw new Error(`registerConv2DBackpropInput: backend '${backendName}' has no '${name}' kernel`);
    return cfg.kernelFunc as unknown as KernelFn;
  };
  const transpose = k('Transpose');
  const reverse = k('Reverse');
  const conv2d = k('Conv2D');
  const slice = k('Slice');
  const reshape = k('Reshape');
  const pad = k('PadV2');
  if (existing) tf.unregisterKernel('Conv2DBackpropInput', backendName);
  const config: tf.KernelConfig & { mrlseg: boolean } = {
    kernelName: 'Conv2DBackpropInput',
    backendName,
    mrlseg: true,
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { dy, filter } = inputs as unknown as { dy: TensorInfo; filter: TensorInfo };
      const a = attrs as unknown as BackpropInputAttrs;
      if (a.dataFormat && a.dataFormat !== 'NHWC') {
        throw new Error(`Conv2DBackpropInput(${backendName}): only NHWC is supported, got ${a.dataFormat}`);
      }
      const b = backend as { disposeData(id: unknown): void };
      const free = (t: TensorInfo) => b.disposeData(t.dataId);
      const [B, oh, ow, co] = dy.shape;
      const plan = planBackpropInput(dy.shape as never, filter.shape as never, a);
      const [sh, sw] = plan.strides;
      let src = dy;
      if (sh > 1 || sw > 1) {
        // Insert (s - 1) zeros between neighbours: [B, oh, 1, ow, 1, co] -> pad -> [B, oh*sh, ow*sw, co], trimmed.
        const r = reshape({ inputs: { x: dy }, backend, attrs: { shape: [B, oh, 1, ow, 1, co] } }) as TensorInfo;
        const p = pad({
          inputs: { x: r },
          backend,
          attrs: { paddings: [[0, 0], [0, 0], [0, sh - 1], [0, 0], [0, sw - 1], [0, 0]], constantValue: 0 },
        }) as TensorInfo;
        free(r);
        const r2 = reshape({ inputs: { x: p }, backend, attrs: { shape: [B, oh * sh, ow * sw, co] } }) as TensorInfo;
        free(p);
        src = slice({ inputs: { x: r2 }, backend, attrs: { begin: [0, 0, 0, 0], size: [B, plan.upH, plan.upW, co] } }) as TensorInfo;
        free(r2);
      }
      const flipped = reverse({ inputs: { x: filter }, backend, attrs: { dims: [0, 1] } }) as TensorInfo;
      const wT = transpose({ inputs: { x: flipped }, backend, attrs: { perm: [0, 1, 3, 2] } }) as TensorInfo;
      free(flipped);
      let dx = conv2d({
        inputs: { x: src, filter: wT },
        backend,
        attrs: { strides: [1, 1], pad: plan.pad, dataFormat: 'NHWC', dilations: plan.dilations, dimRoundingMode: undefined },
      }) as TensorInfo;
      free(wT);
      if (src !== dy) free(src);
      const [, H, W] = a.inputShape;
      if (plan.outH !== H || plan.outW !== W) {
        const s = slice({ inputs: { x: dx }, backend, attrs: { begin: [0, 0, 0, 0], size: [B, H, W, dx.shape[3]] } }) as TensorInfo;
        free(dx);
        dx = s;
      }
      return dx;
    },
  };
  tf.registerKernel(config);
  return true;
}
