/**
 * What a trained model needs from its caller to be used as it was trained: the input size, how
 * pixel values become network inputs, the CT window for volumes in Hounsfield units, the axis
 * volumes were sliced along, and where the model came from. Exported ONNX files carry it as
 * `metadata_props` (string key/value pairs, keys below); checkpoints as `meta.inference` in
 * config.json. `predict`, the evaluation API and the viewer read it; a model without it gets
 * {@link DEFAULT_INFERENCE_METADATA} (the conventions used before models described themselves).
 *
 * Preprocessing it describes, for one 2-D slice: values in HU (volumes) are clipped to
 * `ctWindow` and rescaled to [0, 255]; 8-bit images are taken as they are; the grey slice is
 * resized bilinearly to `inputSize`; the network input is clamp(v * intensityScale +
 * intensityOffset, 0, 1).
 */

/** Version of the key set written by {@link inferenceMetadataToProps}. */
export const INFERENCE_METADATA_VERSION = 1;

/** The toolkit's version, recorded in every export. */
export const TOOLKIT_VERSION = '0.1.0';

export interface InferenceMetadata {
  /** Network input [height, width] in pixels; null when unknown (read it off the graph). */
  inputSize: [number, number] | null;
  /** Network input = clamp(grey * intensityScale + intensityOffset, 0, 1), grey in 0..255. */
  intensityScale: number;
  intensityOffset: number;
  /** CT window [min, max] in HU applied to volumes in HU before scaling; null = no window (min..max of each slice). */
  ctWindow: [number, number] | null;
  /**
   * NIfTI array axis the training volumes were sliced along (KiTS19: 0, NIH Pancreas-CT: 2); a
   * slice's pixel (row, col) is voxel (i, row, col) for axis 0 and (col, row, k) for axis 2.
   */
  sliceAxis: 0 | 2;
  /** Training variant (e.g. 'mrlseg', 'seg-only'), run id and toolkit version; null when unknown. */
  variant: string | null;
  runId: string | null;
  toolkitVersion: string | null;
}

/** What a model without metadata is taken to expect (the conventions of the toolkit before version 1 of the keys). */
export const DEFAULT_INFERENCE_METADATA: Readonly<InferenceMetadata> = Object.freeze({
  inputSize: null,
  intensityScale: 1 / 255,
  intensityOffset: 0,
  ctWindow: [-79, 304] as [number, number],
  sliceAxis: 0 as const,
  variant: null,
  runId: null,
  toolkitVersion: null,
});

/** ONNX metadata_props keys. */
export const INFERENCE_METADATA_KEYS = {
  version: 'mrlseg.metadata_version',
  inputSize: 'mrlseg.input_size',
  intensityScale: 'mrlseg.intensity_scale',
  intensityOffset: 'mrlseg.intensity_offset',
  ctWindow: 'mrlseg.ct_window',
  sliceAxis: 'mrlseg.slice_axis',
  variant: 'mrlseg.variant',
  runId: 'mrlseg.run_id',
  toolkitVersion: 'mrlseg.toolkit_version',
} as const;

function checkMetadata(fn: string, m: InferenceMetadata): void {
  const bad = (field: string, expected: string, got: unknown): never => {
    throw new RangeError(`${fn}: ${field} must be ${expected}, got ${JSON.stringify(got)}`);
  };
  if (m.inputSize !== null && !(Array.isArray(m.inputSize) && m.inputSize.length === 2 && m.inputSize.every((v) => Number.isInteger(v) && v > 0))) bad('inputSize', '[height, width] positive integers or null', m.inputSize);
  if (!(Number.isFinite(m.intensityScale) && m.intensityScale !== 0)) bad('intensityScale', 'a finite non-zero number', m.intensityScale);
  if (!Number.isFinite(m.intensityOffset)) bad('intensityOffset', 'a finite number', m.intensityOffset);
  if (m.ctWindow !== null && !(Array.isArray(m.ctWindow) && m.ctWindow.length === 2 && m.ctWindow.every(Number.isFinite) && m.ctWindow[1] > m.ctWindow[0])) bad('ctWindow', '[min, max] with max > min, or null', m.ctWindow);
  if (m.sliceAxis !== 0 && m.sliceAxis !== 2) bad('sliceAxis', '0 or 2', m.sliceAxis);
  for (const k of ['variant', 'runId', 'toolkitVersion'] as const) if (m[k] !== null && typeof m[k] !== 'string') bad(k, 'a string or null', m[k]);
}

/** The metadata as ONNX `metadata_props` entries (string values; absent fields are left out). */
export function inferenceMetadataToProps(m: InferenceMetadata): Record<string, string> {
  checkMetadata('inferenceMetadataToProps', m);
  const K = INFERENCE_METADATA_KEYS;
  const out: Record<string, string> = {
    [K.version]: String(INFERENCE_METADATA_VERSION),
    [K.intensityScale]: String(m.intensityScale),
    [K.intensityOffset]: String(m.intensityOffset),
    [K.ctWindow]: m.ctWindow ? `${m.ctWindow[0]},${m.ctWindow[1]}` : 'none',
    [K.sliceAxis]: String(m.sliceAxis),
  };
  if (m.inputSize) out[K.inputSize] = `${m.inputSize[0]}x${m.inputSize[1]}`;
  if (m.variant !== null) out[K.variant] = m.variant;
  if (m.runId !== null) out[K.runId] = m.runId;
  if (m.toolkitVersion !== null) out[K.toolkitVersion] = m.toolkitVersion;
  return out;
}

/**
 * Reads the metadata back from ONNX `metadata_props` (or a checkpoint's `meta.inference`
 * object); keys that are absent take {@link DEFAULT_INFERENCE_METADATA}'s values. Throws naming
 * the key when a present value is malformed. `present` tells whether the model described itself.
 */
export function inferenceMetadataFromProps(props: Readonly<Record<string, string>> | undefined): InferenceMetadata & { present: boolean } {
  const K = INFERENCE_METADATA_KEYS;
  const p = props ?? {};
  const d = DEFAULT_INFERENCE_METADATA;
  const bad = (key: string, expected: string): never => {
    throw new RangeError(`inferenceMetadataFromProps: '${key}' must be ${expected}, got '${p[key]}'`);
  };
  const num = (key: string, fallback: number): number => {
    if (p[key] === undefined) return fallback;
    const v = Number(p[key]);
    if (p[key].trim() === '' || !Number.isFinite(v)) bad(key, 'a number');
    return v;
  };
  let inputSize = d.inputSize;
  if (p[K.inputSize] !== undefined) {
    const m = /^(\d+)x(\d+)$/.exec(p[K.inputSize].trim());
    if (!m || Number(m[1]) <= 0 || Number(m[2]) <= 0) bad(K.inputSize, "'<height>x<width>' in pixels");
    inputSize = [Number(m![1]), Number(m![2])];
  }
  let ctWindow = d.ctWindow ? ([...d.ctWindow] as [number, number]) : null;
  if (p[K.ctWindow] !== undefined) {
    const v = p[K.ctWindow].trim();
    if (v === 'none') ctWindow = null;
    else {
      const parts = v.split(',').map((s) => Number(s));
      if (parts.length !== 2 || !parts.every(Number.isFinite) || !(parts[1] > parts[0])) bad(K.ctWindow, "'min,max' in HU with max > min, or 'none'");
      ctWindow = [parts[0], parts[1]];
    }
  }
  let sliceAxis = d.sliceAxis;
  if (p[K.sliceAxis] !== undefined) {
    const v = p[K.sliceAxis].trim();
    if (v !== '0' && v !== '2') bad(K.sliceAxis, "'0' or '2'");
    sliceAxis = Number(v) as 0 | 2;
  }
  const m: InferenceMetadata = {
    inputSize,
    intensityScale: num(K.intensityScale, d.intensityScale),
    intensityOffset: num(K.intensityOffset, d.intensityOffset),
    ctWindow,
    sliceAxis,
    variant: p[K.variant] ?? null,
    runId: p[K.runId] ?? null,
    toolkitVersion: p[K.toolkitVersion] ?? null,
  };
  if (m.intensityScale === 0) bad(K.intensityScale, 'non-zero');
  return { ...m, present: Object.values(K).some((k) => p[k] !== undefined) };
}

/**
 * The `metadata_props` of an ONNX file (ModelProto field 14, StringStringEntryProto key = 1,
 * value = 2), read by walking the top-level protobuf fields without decoding the graph: small
 * enough for the browser, which has no ONNX schema at hand. Throws naming the function when the
 * bytes are not a well-formed protobuf message.
 */
export function readOnnxMetadataProps(bytes: Uint8Array): Record<string, string> {
  if (!(bytes instanceof Uint8Array)) throw new TypeError('readOnnxMetadataProps: bytes must be a Uint8Array');
  const fail = (what: string): never => {
    throw new RangeError(`readOnnxMetadataProps: not an ONNX model (${what})`);
  };
  const varint = (b: Uint8Array, pos: { p: number }, end: number): number => {
    let v = 0;
    let mul = 1;
    for (let n = 0; n < 10; n++) {
      if (pos.p >= end) fail('truncated varint');
      const c = b[pos.p++];
      v += (c & 0x7f) * mul;
      if (c < 0x80) return v;
      mul *= 128;
    }
    return fail('varint too long');
  };
  const fields = (b: Uint8Array, start: number, end: number, onString: (field: number, s: number, e: number) => void): void => {
    const pos = { p: start };
    while (pos.p < end) {
      const key = varint(b, pos, end);
      const field = Math.floor(key / 8);
      const wire = key & 7;
      if (field === 0) fail('field number 0');
      if (wire === 0) varint(b, pos, end);
      else if (wire === 1) pos.p += 8;
      else if (wire === 5) pos.p += 4;
      else if (wire === 2) {
        const len = varint(b, pos, end);
        if (pos.p + len > end) fail('length past the end');
        onString(field, pos.p, pos.p + len);
        pos.p += len;
      } else fail(`wire type ${wire}`);
      if (pos.p > end) fail('truncated field');
    }
  };
  const text = new TextDecoder();
  const out: Record<string, string> = {};
  fields(bytes, 0, bytes.length, (field, s, e) => {
    if (field !== 14) return;
    let key = '';
    let value = '';
    fields(bytes, s, e, (f, a, b) => {
      if (f === 1) key = text.decode(bytes.subarray(a, b));
      else if (f === 2) value = text.decode(bytes.subarray(a, b));
    });
    out[key] = value;
  });
  return out;
}
