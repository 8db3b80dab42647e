/**
 * Parameter counts and FLOPs. FLOPs count 2 x multiply-accumulates of the convolutions and
 * matrix products of one forward pass of one image (batch 1) at the model's input size;
 * element-wise work (norms, activations, softmax, resizing) is not counted.
 */
import type * as tf from '@tensorflow/tfjs';
import { TransformerBlock } from './layers/custom-layers';

export interface LayerSummary {
  name: string;
  className: string;
  outputShape: (number | null)[][];
  params: number;
  flops: number;
}

export interface ModelSummary {
  name: string;
  layers: LayerSummary[];
  totalParams: number;
  trainableParams: number;
  flops: number;
}

const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

/** Number of scalar weights (trainable only when `trainableOnly`). */
export function countParams(model: tf.LayersModel, trainableOnly = false): number {
  const ws = trainableOnly ? model.trainableWeights : model.weights;
  return ws.reduce((n, w) => n + size(w.shape as number[]), 0);
}

function layerFlops(layer: tf.layers.Layer): number {
  const cls = layer.getClassName();
  const out = (layer.outputShape as (number | null)[]).slice(1) as number[];
  if (cls === 'Conv2D') {
    const k = layer.getWeights()[0].shape as number[]; // kh x kw x cin x cout
    return 2 * out[0] * out[1] * k[0] * k[1] * k[2] * k[3];
  }
  if (cls === TransformerBlock.className) {
    const [n, d] = out;
    const m = (layer as TransformerBlock).mlp;
    return 2 * n * (4 * d * d + 2 * d * m) + 4 * n * n * d;
  }
  return 0;
}

/** Per-layer output shapes, parameter counts and FLOPs (see the file comment). */
export function summary(model: tf.LayersModel): ModelSummary {
  const layers = model.layers.map((l) => {
    const os = l.outputShape;
    const shapes = (Array.isArray(os[0]) || os.length === 0 ? os : [os]) as (number | null)[][];
    return { name: l.name, className: l.getClassName(), outputShape: shapes, params: l.countParams(), flops: layerFlops(l) };
  });
  return {
    name: model.name,
    layers,
    totalParams: countParams(model),
    trainableParams: countParams(model, true),
    flops: layers.reduce((n, l) => n + l.flops, 0),
  };
}
