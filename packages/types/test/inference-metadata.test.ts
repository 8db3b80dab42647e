import { describe, expect, it } from 'vitest';
import { DEFAULT_INFERENCE_METADATA, inferenceMetadataFromProps, inferenceMetadataToProps, readOnnxMetadataProps, type InferenceMetadata } from '../src/inference-metadata';

const kits: InferenceMetadata = {
  inputSize: [128, 96],
  intensityScale: 1 / 255,
  intensityOffset: 0,
  ctWindow: [-79, 304],
  sliceAxis: 0,
  variant: 'mrlseg',
  runId: 'r-1',
  toolkitVersion: '0.1.0',
};

describe('inference metadata', () => {
  it('writes the documented string props and reads them back', () => {
    const p = inferenceMetadataToProps(kits);
    expect(p).toEqual({
      'mrlseg.metadata_version': '1',
      'mrlseg.input_size': '128x96',
      'mrlseg.intensity_scale': String(1 / 255),
      'mrlseg.intensity_offset': '0',
      'mrlseg.ct_window': '-79,304',
      'mrlseg.slice_axis': '0',
      'mrlseg.variant': 'mrlseg',
      'mrlseg.run_id': 'r-1',
      'mrlseg.toolkit_version': '0.1.0',
    });
    expect(inferenceMetadataFromProps(p)).toEqual({ ...kits, present: true });
  });

  it('round-trips a 2-D model without CT window, sliced along axis 2', () => {
    const m = { ...kits, ctWindow: null, sliceAxis: 2 as const, inputSize: null, variant: null, runId: null };
    const p = inferenceMetadataToProps(m);
    expect(p['mrlseg.ct_window']).toBe('none');
    expect(p['mrlseg.input_size']).toBeUndefined();
    expect(inferenceMetadataFromProps(p)).toEqual({ ...m, present: true });
  });

  it('gives the defaults to a model without metadata', () => {
    expect(inferenceMetadataFromProps(undefined)).toEqual({ ...DEFAULT_INFERENCE_METADATA, present: false });
    expect(inferenceMetadataFromProps({ 'onnx.other': 'x' }).present).toBe(false);
    expect(inferenceMetadataFromProps({ 'mrlseg.slice_axis': '2' })).toMatchObject({ sliceAxis: 2, ctWindow: [-79, 304], intensityScale: 1 / 255, present: true });
  });

  it('names the malformed key', () => {
    expect(() => inferenceMetadataFromProps({ 'mrlseg.ct_window': '304,-79' })).toThrow(/'mrlseg.ct_window' must be 'min,max'.*got '304,-79'/);
    expect(() => inferenceMetadataFromProps({ 'mrlseg.slice_axis': '1' })).toThrow(/'mrlseg.slice_axis' must be '0' or '2'/);
    expect(() => inferenceMetadataFromProps({ 'mrlseg.input_size': '128' })).toThrow(/'mrlseg.input_size'/);
    expect(() => inferenceMetadataFromProps({ 'mrlseg.intensity_scale': 'abc' })).toThrow(/'mrlseg.intensity_scale' must be a number/);
    expect(() => inferenceMetadataToProps({ ...kits, sliceAxis: 1 as 0 })).toThrow(/inferenceMetadataToProps: sliceAxis must be 0 or 2/);
  });
});

describe('readOnnxMetadataProps', () => {
  // A hand-encoded ModelProto: ir_version (field 1, varint) 8, a graph (field 7) that is skipped,
  // and two metadata_props entries (field 14) {key (1), value (2)}.
  const str = (field: number, s: string) => [field * 8 + 2, s.length, ...new TextEncoder().encode(s)];
  const entry = (k: string, v: string) => {
    const body = [...str(1, k), ...str(2, v)];
    return [14 * 8 + 2, body.length, ...body];
  };
  const bytes = Uint8Array.from([8, 8, 7 * 8 + 2, 3, 0x0a, 1, 0x41, ...entry('mrlseg.slice_axis', '2'), ...entry('a', '')]);

  it('reads the entries and skips everything else', () => {
    expect(readOnnxMetadataProps(bytes)).toEqual({ 'mrlseg.slice_axis': '2', a: '' });
    expect(readOnnxMetadataProps(Uint8Array.from([8, 8]))).toEqual({});
  });

  it('rejects bytes that are not a protobuf message', () => {
    expect(() => readOnnxMetadataProps(bytes.subarray(0, bytes.length - 3))).toThrow(/readOnnxMetadataProps: not an ONNX model \(length past the end\)/);
    expect(() => readOnnxMetadataProps(Uint8Array.from([0x0f]))).toThrow(/readOnnxMetadataProps: not an ONNX model \(wire type 7\)/);
  });
});
