/**
 * A small ONNX graph builder over the official ONNX protobuf schema (onnx-proto, compiled for
 * protobufjs): nodes, initializers, value infos and ModelProto encoding. No hand-rolled wire
 * format: every message is created and encoded by protobufjs from onnx.proto.
 */
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;
type INodeProto = InstanceType<typeof onnx.NodeProto>;
type ITensorProto = InstanceType<typeof onnx.TensorProto>;
type IValueInfoProto = InstanceType<typeof onnx.ValueInfoProto>;
type IAttributeProto = InstanceType<typeof onnx.AttributeProto>;

export type AttrValue = number | string | number[] | { floats: number[] };

const FLOAT = onnx.TensorProto.DataType.FLOAT;
const INT64 = onnx.TensorProto.DataType.INT64;
const A = onnx.AttributeProto.AttributeType;

function attribute(name: string, v: AttrValue): IAttributeProto {
  if (typeof v === 'string') return onnx.AttributeProto.create({ name, type: A.STRING, s: new TextEncoder().encode(v) });
  if (typeof v === 'number') {
    return Number.isInteger(v) ? onnx.AttributeProto.create({ name, type: A.INT, i: v }) : onnx.AttributeProto.create({ name, type: A.FLOAT, f: v });
  }
  if (Array.isArray(v)) return onnx.AttributeProto.create({ name, type: A.INTS, ints: v });
  return onnx.AttributeProto.create({ name, type: A.FLOATS, floats: v.floats });
}

/** Dimensions of a value info: a number is fixed, a string is a symbolic (dynamic) dimension. */
export type Dims = (number | string)[];

export class OnnxGraph {
  readonly nodes: INodeProto[] = [];
  readonly initializers: ITensorProto[] = [];
  readonly inputs: IValueInfoProto[] = [];
  readonly outputs: IValueInfoProto[] = [];
  private readonly initNames = new Set<string>();
  /** Operator-set domains other than the default one used by nodes (imported at version 1). */
  private readonly domains = new Set<string>();
  private counter = 0;

  /** A fresh, unique value name starting with `hint`. */
  fresh(hint: string): string {
    return `${hint}__${this.counter++}`;
  }

  /**
   * Adds a node; returns its output names (fresh unless `outputs` given). `domain` names an
   * operator set other than the default ONNX one (e.g. onnxruntime's 'com.microsoft.nchwc'),
   * imported at version 1.
   */
  node(op: string, inputs: string[], attrs: Record<string, AttrValue> = {}, opts: { outputs?: string[]; hint?: string; domain?: string } = {}): string[] {
    const hint = opts.hint ?? op;
    const outputs = opts.outputs ?? [this.fresh(hint)];
    if (opts.domain) this.domains.add(opts.domain);
    this.nodes.push(
      onnx.NodeProto.create({
        opType: op,
        ...(opts.domain ? { domain: opts.domain } : {}),
        name: this.fresh(`${hint}_node`),
        input: inputs,
        output: outputs,
        attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)),
      }),
    );
    return outputs;
  }

  /** Adds a float32 initializer (once per name; a later call with the same name is a no-op). */
  floatTensor(name: string, data: Float32Array | number[], dims: number[]): string {
    if (this.initNames.has(name)) return name;
    const f = data instanceof Float32Array ? data : Float32Array.from(data);
    const n = dims.reduce((a, b) => a * b, 1);
    if (f.length !== n) throw new Error(`OnnxGraph.floatTensor: '${name}' has ${f.length} values, dims [${dims.join(', ')}] need ${n}`);
    this.initNames.add(name);
    this.initializers.push(onnx.TensorProto.create({ name, dataType: FLOAT, dims, rawData: new Uint8Array(f.buffer.slice(f.byteOffset, f.byteOffset + f.byteLength)) }));
    return name;
  }

  /** Adds an int64 initializer (shapes, indices). */
  int64Tensor(name: string, data: number[], dims: number[] = [data.length]): string {
    if (this.initNames.has(name)) return name;
    this.initNames.add(name);
    const b = BigInt64Array.from(data.map((v) => BigInt(v)));
    this.initializers.push(onnx.TensorProto.create({ name, dataType: INT64, dims, rawData: new Uint8Array(b.buffer) }));
    return name;
  }

  private valueInfo(name: string, dims: Dims): IValueInfoProto {
    return onnx.ValueInfoProto.create({
      name,
      type: onnx.TypeProto.create({
        tensorType: onnx.TypeProto.Tensor.create({
          elemType: FLOAT,
          shape: onnx.TensorShapeProto.create({ dim: dims.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d })) }),
        }),
      }),
    });
  }

  input(name: string, dims: Dims): string {
    this.inputs.push(this.valueInfo(name, dims));
    return name;
  }

  output(name: string, dims: Dims): void {
    this.outputs.push(this.valueInfo(name, dims));
  }

  /** Encodes the model: IR version `irVersion`, default-domain opset `opset`. */
  encode(opts: { name: string; irVersion: number; opset: number; docString?: string; producerVersion?: string; metadata?: Readonly<Record<string, string>> }): Uint8Array {
    const model = onnx.ModelProto.create({
      irVersion: opts.irVersion,
      opsetImport: [
        onnx.OperatorSetIdProto.create({ domain: '', version: opts.opset }),
        ...[...this.domains].map((domain) => onnx.OperatorSetIdProto.create({ domain, version: 1 })),
      ],
      producerName: 'mrlseg',
      producerVersion: opts.producerVersion ?? '0.1.0',
      docString: opts.docString ?? '',
      metadataProps: Object.entries(opts.metadata ?? {}).map(([key, value]) => onnx.StringStringEntryProto.create({ key, value })),
      graph: onnx.GraphProto.create({
        name: opts.name,
        node: this.nodes,
        initializer: this.initializers,
        input: this.inputs,
        output: this.outputs,
      }),
    });
    return onnx.ModelProto.encode(model).finish();
  }
}
