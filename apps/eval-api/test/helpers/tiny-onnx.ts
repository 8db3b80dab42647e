/**
 * Tiny ONNX models with exactly known outputs, written with the ONNX schema (onnx-proto) and
 * protobufjs, so the API's tests can check masks pixel by pixel:
 * - probabilities = the input itself (grey / 255), so the mask is `grey / 255 >= threshold`;
 * - actions (optional) = 1 (masked, as the models package's MRL-Seg export) where grey / 255 < 0.1.
 * Opset 17, IR version 8, dynamic batch, like the models package's exports.
 */
import { writeFileSync } from 'node:fs';
import onnxProto, { type onnx as Onnx } from 'onnx-proto';

const { onnx } = onnxProto;

export interface TinyModelOptions {
  size: number;
  layout?: 'NHWC' | 'NCHW';
  actions?: boolean;
  /** metadata_props entries (e.g. mrlseg.slice_axis). */
  metadata?: Record<string, string>;
}

const FLOAT = onnx.TensorProto.DataType.FLOAT;

function valueInfo(name: string, dims: (number | string)[]): Onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: FLOAT,
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

/** Encodes the tiny model as ONNX bytes. */
export function tinyModelBytes(opts: TinyModelOptions): Uint8Array {
  const { size, layout = 'NHWC', actions = false } = opts;
  const dims = layout === 'NHWC' ? ['batch', size, size, 1] : ['batch', 1, size, size];
  const nodes: Onnx.INodeProto[] = [{ opType: 'Identity', input: ['image'], output: ['probabilities'], name: 'probabilities' }];
  const initializer: Onnx.ITensorProto[] = [];
  const outputs = [valueInfo('probabilities', dims)];
  if (actions) {
    initializer.push({ name: 'mask_below', dataType: FLOAT, dims: [], floatData: [0.1] });
    nodes.push(
      { opType: 'Less', input: ['image', 'mask_below'], output: ['masked'], name: 'masked' },
      { opType: 'Cast', input: ['masked'], output: ['actions'], name: 'actions', attribute: [{ name: 'to', type: onnx.AttributeProto.AttributeType.INT, i: FLOAT }] },
    );
    outputs.push(valueInfo('actions', dims));
  }
  const model = onnx.ModelProto.create({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 17 }],
    producerName: 'mrlseg-eval-api-tests',
    metadataProps: Object.entries(opts.metadata ?? {}).map(([key, value]) => ({ key, value })),
    graph: { name: 'tiny', node: nodes, initializer, input: [valueInfo('image', dims)], output: outputs },
  });
  return onnx.ModelProto.encode(model).finish();
}

/** Writes the tiny model to `path` and returns the path. */
export function writeTinyModel(path: string, opts: TinyModelOptions): string {
  writeFileSync(path, tinyModelBytes(opts));
  return path;
}
