/**
 * ONNX export of the networks of this package (opset 17, IR version 8), and of the whole MRL-Seg
 * inference (T deterministic Reinforcement-Net steps, then the Segmentation-Net) as one graph.
 *
 * Layout: the graph input `image` is NHWC, B x H x W x 1 with a dynamic batch dimension `batch`,
 * exactly as TensorFlow.js takes it; outputs are NHWC too (`probabilities` B x H x W x 1;
 * `policy` B x H x W x 2 and `value` B x H x W x 1; `actions` B x H x W x 1, 1 = masked).
 * Inside, the graph transposes once to NCHW (ONNX's convolution layout) and back at the outputs.
 * H and W are fixed to the model's input size (the position embedding has (H/16)(W/16) rows).
 */
import type * as tf from '@tensorflow/tfjs';
import { TransformerBlock, PositionEmbedding } from '../layers/custom-layers';
import { checkMrlSegOptions, type MrlSegInferenceOptions } from '../mrlseg-inference';
import { ACTION_MASK } from '../reinforcement-net';
import { OnnxGraph } from './onnx-graph';

export const ONNX_OPSET = 17;
export const ONNX_IR_VERSION = 8;

export interface OnnxExportOptions {
  /** Graph name (default: the model's name). */
  name?: string;
  docString?: string;
  /**
   * ONNX `metadata_props` (string key/value pairs), e.g. @mrlseg/types'
   * inferenceMetadataToProps: how the model was trained to be fed.
   */
  metadata?: Readonly<Record<string, string>>;
}

type Layout = 'nchw' | 'tokens';
interface Val {
  name: string;
  layout: Layout;
  /** TensorFlow.js (NHWC / B x N x D) shape, batch first as null. */
  shape: (number | null)[];
}

interface NodeLike {
  inputTensors: tf.SymbolicTensor[];
  outputTensors: tf.SymbolicTensor[];
}
const inbound = (layer: tf.layers.Layer): NodeLike[] => (layer as unknown as { inboundNodes: NodeLike[] }).inboundNodes;

const toNHWC = [0, 2, 3, 1];
const toNCHW = [0, 3, 1, 2];

/** Kernel kh x kw x cin x cout (TF) to cout x cin x kh x kw (ONNX). */
function oihw(k: Float32Array, [kh, kw, ci, co]: number[]): Float32Array {
  const out = new Float32Array(k.length);
  for (let y = 0; y < kh; y++)
    for (let x = 0; x < kw; x++)
      for (let i = 0; i < ci; i++)
        for (let o = 0; o < co; o++) out[((o * ci + i) * kh + y) * kw + x] = k[((y * kw + x) * ci + i) * co + o];
  return out;
}

/** TensorFlow 'same' padding (extra pixel at the end) as ONNX pads [top, left, bottom, right]. */
function samePads(inH: number, inW: number, k: number[], s: number[], d: number[]): number[] {
  const total = (n: number, i: number) => Math.max((Math.ceil(n / s[i]) - 1) * s[i] + (k[i] - 1) * d[i] + 1 - n, 0);
  const th = total(inH, 0);
  const tw = total(inW, 1);
  return [Math.floor(th / 2), Math.floor(tw / 2), th - Math.floor(th / 2), tw - Math.floor(tw / 2)];
}

const pair = (v: unknown): number[] => (Array.isArray(v) ? (v as number[]) : [v as number, v as number]);

/** Layers needed to compute `outputs`, by name. */
function neededLayers(outputs: tf.SymbolicTensor[]): Set<string> {
  const seen = new Set<string>();
  const stack = outputs.map((o) => o.sourceLayer);
  while (stack.length) {
    const l = stack.pop()!;
    if (seen.has(l.name)) continue;
    seen.add(l.name);
    for (const n of inbound(l)) for (const t of n.inputTensors) stack.push(t.sourceLayer);
  }
  return seen;
}

/**
 * Emits `model`'s layers into `g`. `input` is the NCHW value fed to the model's single input.
 * Weights are named `${weightPrefix}${layer}/...` (shared when emitted twice); intermediate
 * values get `${prefix}` hints. Returns the NCHW values of `outputs` (default: all outputs).
 */
export function emitLayersModel(g: OnnxGraph, model: tf.LayersModel, input: string, opts: { prefix: string; weightPrefix: string; outputs?: number[] }): string[] {
  if (model.inputs.length !== 1) throw new Error(`exportOnnx: model '${model.name}' must have exactly one input, has ${model.inputs.length}`);
  const outIdx = opts.outputs ?? model.outputs.map((_, i) => i);
  const wanted = outIdx.map((i) => model.outputs[i]);
  const needed = neededLayers(wanted);
  const vals = new Map<number, Val>();
  const wname = (layer: tf.layers.Layer, w: string) => `${opts.weightPrefix}${layer.name}/${w}`;
  const hint = (layer: tf.layers.Layer, s = '') => `${opts.prefix}${layer.name}${s}`;
  const weights = (layer: tf.layers.Layer) => layer.getWeights().map((t) => ({ data: t.dataSync() as Float32Array, shape: t.shape as number[] }));
  const i64 = (name: string, data: number[]) => g.int64Tensor(`${opts.weightPrefix}${name}`, data);

  for (const layer of model.layers) {
    if (!needed.has(layer.name)) continue;
    const nodes = inbound(layer);
    if (nodes.length !== 1) throw new Error(`exportOnnx: layer '${layer.name}' is applied ${nodes.length} times; shared layers are not supported`);
    const [node] = nodes;
    const ins = node.inputTensors.map((t) => {
      const v = vals.get(t.id);
      if (!v && layer.getClassName() !== 'InputLayer') throw new Error(`exportOnnx: layer '${layer.name}' reads a value not yet emitted`);
      return v!;
    });
    const outShape = node.outputTensors[0].shape;
    const cfg = layer.getConfig() as Record<string, unknown>;
    const cls = layer.getClassName();
    let out: Val;
    const activation = (x: string, act: unknown, layout: Layout): string => {
      if (act === 'linear' || act == null) return x;
      if (act === 'relu') return g.node('Relu', [x], {}, { hint: hint(layer, '_relu') })[0];
      if (act === 'sigmoid') return g.node('Sigmoid', [x], {}, { hint: hint(layer, '_sigmoid') })[0];
      if (act === 'softmax') return g.node('Softmax', [x], { axis: layout === 'nchw' ? 1 : -1 }, { hint: hint(layer, '_softmax') })[0];
      throw new Error(`exportOnnx: layer '${layer.name}': activation '${String(act)}' is not supported`);
    };
    switch (cls) {
      case 'InputLayer':
        out = { name: input, layout: 'nchw', shape: outShape };
        break;
      case 'Conv2D': {
        const ws = weights(layer);
        const k = pair(cfg.kernelSize);
        const s = pair(cfg.strides);
        const d = pair(cfg.dilationRate ?? 1);
        const inShape = ins[0].shape as number[];
        const pads = cfg.padding === 'same' ? samePads(inShape[1], inShape[2], k, s, d) : [0, 0, 0, 0];
        const wIn = [ins[0].name, g.floatTensor(wname(layer, 'kernel'), oihw(ws[0].data, ws[0].shape), [ws[0].shape[3], ws[0].shape[2], k[0], k[1]])];
        if (cfg.useBias) wIn.push(g.floatTensor(wname(layer, 'bias'), ws[1].data, ws[1].shape));
        const y = g.node('Conv', wIn, { kernel_shape: k, strides: s, dilations: d, pads, group: 1 }, { hint: hint(layer) })[0];
        out = { name: activation(y, cfg.activation, 'nchw'), layout: 'nchw', shape: outShape };
        break;
      }
      case 'BatchNormalization': {
        const ws = weights(layer);
        let i = 0;
        const c = ws[ws.length - 1].shape[0];
        const gamma = cfg.scale ? ws[i++].data : new Float32Array(c).fill(1);
        const beta = cfg.center ? ws[i++].data : new Float32Array(c);
        const [mean, variance] = [ws[i].data, ws[i + 1].data];
        const names = [
          g.floatTensor(wname(layer, 'gamma'), gamma, [c]),
          g.floatTensor(wname(layer, 'beta'), beta, [c]),
          g.floatTensor(wname(layer, 'moving_mean'), mean, [c]),
          g.floatTensor(wname(layer, 'moving_variance'), variance, [c]),
        ];
        const y = g.node('BatchNormalization', [ins[0].name, ...names], { epsilon: cfg.epsilon as number }, { hint: hint(layer) })[0];
        out = { name: y, layout: 'nchw', shape: outShape };
        break;
      }
      case 'Activation':
        out = { ...ins[0], name: activation(ins[0].name, cfg.activation, ins[0].layout), shape: outShape };
        break;
      case 'MaxPooling2D': {
        if (cfg.padding !== 'valid') throw new Error(`exportOnnx: layer '${layer.name}': only 'valid' max pooling is supported`);
        const y = g.node('MaxPool', [ins[0].name], { kernel_shape: pair(cfg.poolSize), strides: pair(cfg.strides ?? cfg.poolSize), pads: [0, 0, 0, 0] }, { hint: hint(layer) })[0];
        out = { name: y, layout: 'nchw', shape: outShape };
        break;
      }
      case 'UpSampling2D': {
        const [fh, fw] = pair(cfg.size);
        const scales = g.floatTensor(`${opts.weightPrefix}scales_${fh}x${fw}`, [1, 1, fh, fw], [4]);
        const attrs: Record<string, string> =
          cfg.interpolation === 'bilinear'
            ? { mode: 'linear', coordinate_transformation_mode: 'asymmetric' }
            : { mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' };
        const y = g.node('Resize', [ins[0].name, '', scales], attrs, { hint: hint(layer) })[0];
        out = { name: y, layout: 'nchw', shape: outShape };
        break;
      }
      case 'Concatenate': {
        const axis = ins[0].layout === 'nchw' ? 1 : -1;
        if (cfg.axis !== -1 && cfg.axis !== ins[0].shape.length - 1) throw new Error(`exportOnnx: layer '${layer.name}': only channel concatenation is supported`);
        out = { name: g.node('Concat', ins.map((v) => v.name), { axis }, { hint: hint(layer) })[0], layout: ins[0].layout, shape: outShape };
        break;
      }
      case 'Add':
        out = { name: g.node('Add', ins.map((v) => v.name), {}, { hint: hint(layer) })[0], layout: ins[0].layout, shape: outShape };
        break;
      case 'Reshape': {
        const target = cfg.targetShape as number[];
        if (ins[0].layout === 'nchw' && target.length === 2) {
          const t = g.node('Transpose', [ins[0].name], { perm: toNHWC }, { hint: hint(layer, '_nhwc') })[0];
          const y = g.node('Reshape', [t, i64(`shape_0x${target.join('x')}`, [0, ...target])], {}, { hint: hint(layer) })[0];
          out = { name: y, layout: 'tokens', shape: outShape };
        } else if (ins[0].layout === 'tokens' && target.length === 3) {
          const r = g.node('Reshape', [ins[0].name, i64(`shape_0x${target.join('x')}`, [0, ...target])], {}, { hint: hint(layer, '_nhwc') })[0];
          out = { name: g.node('Transpose', [r], { perm: toNCHW }, { hint: hint(layer) })[0], layout: 'nchw', shape: outShape };
        } else {
          throw new Error(`exportOnnx: layer '${layer.name}': reshape from ${ins[0].layout} to [${target.join(', ')}] is not supported`);
        }
        break;
      }
      case 'LayerNormalization': {
        const ws = weights(layer);
        const d = ins[0].shape[ins[0].shape.length - 1] as number;
        if (ins[0].layout !== 'tokens') throw new Error(`exportOnnx: layer '${layer.name}': layer normalisation is supported on tokens only`);
        const gamma = cfg.scale ? ws[0].data : new Float32Array(d).fill(1);
        const beta = cfg.center ? ws[cfg.scale ? 1 : 0].data : new Float32Array(d);
        const y = g.node('LayerNormalization', [ins[0].name, g.floatTensor(wname(layer, 'gamma'), gamma, [d]), g.floatTensor(wname(layer, 'beta'), beta, [d])], { axis: -1, epsilon: cfg.epsilon as number }, { hint: hint(layer) })[0];
        out = { name: y, layout: 'tokens', shape: outShape };
        break;
      }
      case PositionEmbedding.className: {
        const [w] = weights(layer);
        out = { name: g.node('Add', [ins[0].name, g.floatTensor(wname(layer, 'embedding'), w.data, w.shape)], {}, { hint: hint(layer) })[0], layout: 'tokens', shape: outShape };
        break;
      }
      case TransformerBlock.className:
        out = { name: emitTransformer(g, layer as TransformerBlock, ins[0], (w) => wname(layer, w), (s) => hint(layer, s), i64), layout: 'tokens', shape: outShape };
        break;
      default:
        throw new Error(`exportOnnx: layer '${layer.name}' of class ${cls} is not supported`);
    }
    vals.set(node.outputTensors[0].id, out);
  }
  return wanted.map((t) => {
    const v = vals.get(t.id);
    if (!v || v.layout !== 'nchw') throw new Error(`exportOnnx: output '${t.sourceLayer.name}' must be an image-shaped tensor`);
    return v.name;
  });
}

/** One pre-norm transformer layer (see TransformerBlock) as ONNX nodes on B x N x D tokens. */
function emitTransformer(g: OnnxGraph, layer: TransformerBlock, x: Val, wname: (w: string) => string, hint: (s: string) => string, i64: (name: string, d: number[]) => string): string {
  const [, n, d] = x.shape as number[];
  const h = layer.heads;
  const dh = d / h;
  const w = new Map<string, { data: Float32Array; shape: number[] }>();
  layer.getWeights().forEach((t, i) => w.set(TransformerBlock.WEIGHT_NAMES[i], { data: t.dataSync() as Float32Array, shape: t.shape as number[] }));
  const init = (k: string) => g.floatTensor(wname(k), w.get(k)!.data, w.get(k)!.shape);
  const ln = (v: string, p: string) => g.node('LayerNormalization', [v, init(`${p}_gamma`), init(`${p}_beta`)], { axis: -1, epsilon: layer.epsilon }, { hint: hint(`_${p}`) })[0];
  const dense = (v: string, p: string) => g.node('Add', [g.node('MatMul', [v, init(`${p}_kernel`)], {}, { hint: hint(`_${p}_mm`) })[0], init(`${p}_bias`)], {}, { hint: hint(`_${p}`) })[0];
  const heads = i64(`shape_0x${n}x${h}x${dh}`, [0, n, h, dh]);
  const a = ln(x.name, 'ln1');
  const split = (p: string, perm: number[]) => g.node('Transpose', [g.node('Reshape', [dense(a, p), heads], {}, { hint: hint(`_${p}_heads`) })[0]], { perm }, { hint: hint(`_${p}_t`) })[0];
  const q = split('q', [0, 2, 1, 3]); // B x h x N x dh
  const kT = split('k', [0, 2, 3, 1]); // B x h x dh x N
  const v = split('v', [0, 2, 1, 3]);
  const scale = g.floatTensor(wname('attention_scale'), [1 / Math.sqrt(dh)], []);
  const scores = g.node('Mul', [g.node('MatMul', [q, kT], {}, { hint: hint('_qk') })[0], scale], {}, { hint: hint('_scores') })[0];
  const att = g.node('Softmax', [scores], { axis: -1 }, { hint: hint('_softmax') })[0];
  const ctx = g.node('MatMul', [att, v], {}, { hint: hint('_ctx') })[0];
  const merged = g.node('Reshape', [g.node('Transpose', [ctx], { perm: [0, 2, 1, 3] }, { hint: hint('_ctx_t') })[0], i64(`shape_0x${n}x${d}`, [0, n, d])], {}, { hint: hint('_merge') })[0];
  const x1 = g.node('Add', [x.name, dense(merged, 'o')], {}, { hint: hint('_res1') })[0];
  const m = dense(ln(x1, 'ln2'), 'mlp1');
  // GELU(x) = 0.5 x (1 + erf(x / sqrt 2))
  const half = g.floatTensor(wname('gelu_half'), [0.5], []);
  const one = g.floatTensor(wname('gelu_one'), [1], []);
  const rsqrt2 = g.floatTensor(wname('gelu_rsqrt2'), [Math.SQRT1_2], []);
  const erf = g.node('Erf', [g.node('Mul', [m, rsqrt2], {}, { hint: hint('_gelu_s') })[0]], {}, { hint: hint('_gelu_erf') })[0];
  const gel = g.node('Mul', [g.node('Mul', [m, half], {}, { hint: hint('_gelu_h') })[0], g.node('Add', [erf, one], {}, { hint: hint('_gelu_1p') })[0]], {}, { hint: hint('_gelu') })[0];
  return g.node('Add', [x1, dense(gel, 'mlp2')], {}, { hint: hint('_res2') })[0];
}

function imageInput(g: OnnxGraph, model: tf.LayersModel): { nchw: string; h: number; w: number; c: number } {
  const [, h, w, c] = model.inputs[0].shape as number[];
  if (model.inputs[0].shape.length !== 4 || !h || !w || !c) throw new Error(`exportOnnx: model '${model.name}' must take B x H x W x C images with fixed H, W, C`);
  g.input('image', ['batch', h, w, c]);
  const nchw = g.node('Transpose', ['image'], { perm: toNCHW }, { hint: 'image_nchw' })[0];
  return { nchw, h, w, c };
}

function nhwcOutput(g: OnnxGraph, nchw: string, name: string, dims: number[]): void {
  g.node('Transpose', [nchw], { perm: toNHWC }, { outputs: [name], hint: name });
  g.output(name, ['batch', ...dims]);
}

/**
 * Exports a network of this package (Segmentation-Net, Reinforcement-Net, U-Net, ResU-Net) to
 * ONNX bytes. Input `image` (B x H x W x C, NHWC); outputs named after the model's output layers
 * (`probabilities`, or `policy` and `value`), NHWC.
 */
export function exportOnnx(model: tf.LayersModel, opts: OnnxExportOptions = {}): Uint8Array {
  const g = new OnnxGraph();
  const { nchw } = imageInput(g, model);
  const outs = emitLayersModel(g, model, nchw, { prefix: '', weightPrefix: '' });
  model.outputs.forEach((o, i) => nhwcOutput(g, outs[i], o.sourceLayer.name, (o.shape as number[]).slice(1)));
  return g.encode({
    name: opts.name ?? model.name,
    irVersion: ONNX_IR_VERSION,
    opset: ONNX_OPSET,
    metadata: opts.metadata,
    docString: opts.docString ?? `MRL-Seg ${model.name}: input 'image' B x H x W x C (NHWC, grey in [0, 1]); outputs NHWC.`,
  });
}

/**
 * Exports the whole MRL-Seg inference as one ONNX graph (see runMrlSegInference): T policy steps
 * of `rlNet` (argmax, ties -> mask; masked pixels set to `maskValue` and kept masked), then
 * `segNet` on the final state. Input `image` B x H x W x 1; outputs `probabilities`
 * (B x H x W x 1) and `actions` (B x H x W x 1, 1 = masked). The Reinforcement-Net's weights are
 * stored once and shared by the T unrolled steps; its value head is not part of the graph.
 */
export function exportMrlSegOnnx(rlNet: tf.LayersModel, segNet: tf.LayersModel, opts: MrlSegInferenceOptions & OnnxExportOptions): Uint8Array {
  checkMrlSegOptions('exportMrlSegOnnx', opts);
  if (rlNet.inputs.length !== 1) {
    throw new Error(
      `exportMrlSegOnnx: rlNet takes ${rlNet.inputs.length} inputs; a Reinforcement-Net that also reads the Segmentation-Net's probability map (rl.policyInput 'image+probability') belongs to a unit formulation, which the pixel-wise MRL-Seg graph cannot express: export the Segmentation-Net alone`,
    );
  }
  const rs = rlNet.inputs[0].shape.join('x');
  const ss = segNet.inputs[0].shape.join('x');
  if (rs !== ss) throw new Error(`exportMrlSegOnnx: rlNet input [${rs}] differs from segNet input [${ss}]`);
  if (rlNet.outputs.length !== 2 || rlNet.outputs[0].shape[3] !== 2) throw new Error(`exportMrlSegOnnx: rlNet must output [policy B x H x W x 2, value]`);
  const g = new OnnxGraph();
  const { nchw: image, h, w } = imageInput(g, rlNet);
  const maskValue = g.floatTensor('mask_value', [opts.maskValue], []);
  const maskAction = g.int64Tensor('mask_action', [ACTION_MASK], []);
  let masked = '';
  let state = image;
  for (let t = 0; t < opts.steps; t++) {
    const [policy] = emitLayersModel(g, rlNet, state, { prefix: `step${t}/`, weightPrefix: 'rl/', outputs: [0] });
    const act = g.node('ArgMax', [policy], { axis: 1, keepdims: 1, select_last_index: 0 }, { hint: `step${t}/argmax` })[0];
    const isMask = g.node('Equal', [act, maskAction], {}, { hint: `step${t}/is_mask` })[0];
    masked = t === 0 ? isMask : g.node('Or', [masked, isMask], {}, { hint: `step${t}/masked` })[0];
    state = g.node('Where', [masked, maskValue, image], {}, { hint: `step${t}/state` })[0];
  }
  const [probs] = emitLayersModel(g, segNet, state, { prefix: 'seg/', weightPrefix: 'seg/' });
  nhwcOutput(g, probs, 'probabilities', [h, w, 1]);
  nhwcOutput(g, g.node('Cast', [masked], { to: 1 }, { hint: 'actions_nchw' })[0], 'actions', [h, w, 1]);
  return g.encode({
    name: opts.name ?? 'mrlseg',
    irVersion: ONNX_IR_VERSION,
    opset: ONNX_OPSET,
    metadata: opts.metadata,
    docString:
      opts.docString ??
      `MRL-Seg inference: ${opts.steps} deterministic Reinforcement-Net steps (mask value ${opts.maskValue}), then the Segmentation-Net. Input 'image' B x H x W x 1 (NHWC, [0, 1]); outputs 'probabilities' and 'actions' (1 = masked), NHWC.`,
  });
}
