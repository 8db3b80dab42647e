/** Reads the header of an ONNX file (IR version, opsets, input and output names and shapes, metadata_props). */
import onnxProto from 'onnx-proto';
import { readOnnxMetadataProps } from '@mrlseg/types';

export interface OnnxValueInfo {
  name: string;
  /** Dimensions: numbers for fixed sizes, strings for symbolic (dynamic) ones. */
  dims: (number | string)[];
}

export interface OnnxModelInfo {
  irVersion: number;
  opset: number;
  producer: string;
  inputs: OnnxValueInfo[];
  outputs: OnnxValueInfo[];
  /** The model's `metadata_props` (empty when it has none). */
  metadata: Record<string, string>;
}

/** Decodes `bytes` as an ONNX ModelProto and summarises its interface; throws on a non-ONNX buffer. */
export function onnxModelInfo(bytes: Uint8Array): OnnxModelInfo {
  let m: onnxProto.onnx.ModelProto;
  try {
    m = onnxProto.onnx.ModelProto.decode(bytes);
  } catch (e) {
    throw new Error(`onnxModelInfo: not an ONNX model (${(e as Error).message})`, { cause: e });
  }
  if (!m.graph) throw new Error('onnxModelInfo: not an ONNX model (no graph)');
  const init = new Set((m.graph.initializer ?? []).map((t) => t.name));
  const vi = (v: onnxProto.onnx.IValueInfoProto): OnnxValueInfo => ({
    name: v.name ?? '',
    dims: (v.type?.tensorType?.shape?.dim ?? []).map((d) => (d.dimParam ? d.dimParam : Number(d.dimValue ?? 0))),
  });
  return {
    irVersion: Number(m.irVersion),
    opset: Number((m.opsetImport ?? []).find((o) => !o.domain)?.version ?? 0),
    producer: m.producerName ?? '',
    inputs: (m.graph.input ?? []).filter((v) => !init.has(v.name ?? '')).map(vi),
    outputs: (m.graph.output ?? []).map(vi),
    metadata: readOnnxMetadataProps(bytes),
  };
}
