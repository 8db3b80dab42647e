/**
 * `mrlseg predict`: segments 2-D images, NIfTI volumes, DICOM series folders, or a folder holding
 * any mix of them, in one process with one loaded model (a checkpoint on TensorFlow.js, or an
 * ONNX file on onnxruntime-node), slices run in batches.
 *
 * How inputs are fed follows the model's inference metadata (@mrlseg/types InferenceMetadata:
 * ONNX metadata_props, or a checkpoint's meta.inference; models without it get today's defaults):
 * - 2-D images: grey (Rec. 601), bilinear resize (half-pixel centres) to the model's input size,
 *   input = clamp(grey x intensityScale + intensityOffset, 0, 1);
 * - volumes (values taken as HU): each slice along the model's slice axis (`--axis` overrides;
 *   NIfTI only: a DICOM series is cut in its own image plane) goes through the CT window
 *   ([min, max] -> [0, 255]; without one, the slice's own min..max), then as a 2-D image.
 * Probabilities are resized back (bilinear) to the slice's size; p >= threshold is foreground.
 * Outputs: a PNG per image (0/255 mask, or round(255 p) with --probabilities), a NIfTI per volume
 * (uint8 labels 0/1, or float32 p with --probabilities) with the input's geometry (NIfTI: its
 * header's dims, pixdim, qform and sform; DICOM: the series' RAS+ affine, see @mrlseg/data
 * dicom.ts). Each output is written to a temporary file and renamed, so an interrupted run leaves
 * only complete files. In a folder, an unreadable case is named, skipped and counted.
 *
 * Heavy modules (TensorFlow.js, onnxruntime-node, sharp through @mrlseg/data) are imported when
 * the command runs, not when the CLI starts.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { basename, dirname, extname, join, resolve } from 'node:path';
import type { Command } from 'commander';
import type { InferenceMetadata } from '@mrlseg/types';
import { createPredictProgress, type PredictEvent, type PredictProgress } from '../progress';

const IMAGE_EXT = new Set(['.png', '.jpg', '.jpeg', '.tif', '.tiff', '.webp']);

export type CaseKind = 'image' | 'nifti' | 'dicom';

/** One input case: a 2-D image file, a NIfTI file or a DICOM series folder. */
export interface PredictCase {
  name: string;
  kind: CaseKind;
  input: string;
  out: string;
}

export interface PredictOptions {
  model: string;
  input: string;
  out: string;
  probabilities?: boolean;
  threshold?: number;
  /** NIfTI slice axis (default: the model's). */
  axis?: 0 | 2;
  /** Slices per forward pass (default 8). */
  batchSize?: number;
  /** TensorFlow.js backend for checkpoints (default wasm). */
  backend?: string;
  onEvent?: (e: PredictEvent) => void;
}

export interface CaseResult {
  name: string;
  kind: CaseKind;
  input: string;
  out: string | null;
  status: 'done' | 'failed';
  /** [width, height] of an image, [nx, ny, nz] of a volume. */
  dims: number[];
  slices: number;
  foreground: number;
  error?: string;
}

export interface PredictSummary {
  model: string;
  /** Model input size [height, width] and the metadata used (with whether the model carried it). */
  modelSize: [number, number];
  metadata: InferenceMetadata & { present: boolean };
  sliceAxis: 0 | 2;
  cases: CaseResult[];
  done: number;
  failed: number;
  slices: number;
  /** Folders and files of the input folder that are not cases (ignored). */
  ignored: string[];
  durationMs: number;
}

const niftiStem = (name: string) => name.replace(/\.nii(\.gz)?$/i, '');
const isNifti = (name: string) => /\.nii(\.gz)?$/i.test(name);

async function startsWithDicm(file: string): Promise<boolean> {
  const fh = await open(file, 'r');
  try {
    const b = Buffer.alloc(132);
    const { bytesRead } = await fh.read(b, 0, 132, 0);
    return bytesRead === 132 && b.toString('latin1', 128, 132) === 'DICM';
  } finally {
    await fh.close();
  }
}

/** Whether `dir` directly holds at least one DICOM file (a series folder). */
async function isDicomFolder(dir: string): Promise<boolean> {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.isFile() && (await startsWithDicm(join(dir, e.name)).catch(() => false))) return true;
  }
  return false;
}

/**
 * The cases `input` names and where each output goes. A file or a DICOM series folder is one case
 * (`out` is the output file; an existing folder receives it under the input's name). Any other
 * folder is a folder of cases: its images, NIfTI files and DICOM series subfolders, each written
 * into the folder `out` as `<name>.png` (images) or `<name>.nii.gz` (volumes).
 */
export async function planCases(input: string, out: string): Promise<{ cases: PredictCase[]; folder: boolean; ignored: string[] }> {
  if (!existsSync(input)) throw new Error(`predict: --input '${input}' does not exist`);
  const outName = (c: { name: string; kind: CaseKind }) => (c.kind === 'image' ? `${c.name}.png` : `${c.name}.nii.gz`);
  const single = (c: Omit<PredictCase, 'out'>): PredictCase => ({ ...c, out: existsSync(out) && statSync(out).isDirectory() ? join(out, outName(c)) : out });
  if (statSync(input).isFile()) {
    const b = basename(input);
    if (isNifti(b)) return { cases: [single({ name: niftiStem(b), kind: 'nifti', input })], folder: false, ignored: [] };
    if (IMAGE_EXT.has(extname(b).toLowerCase())) return { cases: [single({ name: basename(b, extname(b)), kind: 'image', input })], folder: false, ignored: [] };
    throw new Error(`predict: --input '${input}' is neither an image (${[...IMAGE_EXT].join(', ')}), a NIfTI volume (.nii, .nii.gz) nor a folder`);
  }
  if (await isDicomFolder(input)) return { cases: [single({ name: basename(resolve(input)), kind: 'dicom', input })], folder: false, ignored: [] };
  const cases: PredictCase[] = [];
  const ignored: string[] = [];
  for (const e of readdirSync(input, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name, 'en', { numeric: true }))) {
    const p = join(input, e.name);
    let c: Omit<PredictCase, 'out'> | null = null;
    if (e.isDirectory()) c = (await isDicomFolder(p)) ? { name: e.name, kind: 'dicom', input: p } : null;
    else if (isNifti(e.name)) c = { name: niftiStem(e.name), kind: 'nifti', input: p };
    else if (IMAGE_EXT.has(extname(e.name).toLowerCase())) c = { name: basename(e.name, extname(e.name)), kind: 'image', input: p };
    if (c) cases.push({ ...c, out: join(out, outName(c)) });
    else ignored.push(p);
  }
  if (cases.length === 0) throw new Error(`predict: --input folder '${input}' holds no images (${[...IMAGE_EXT].join(', ')}), NIfTI volumes (.nii, .nii.gz) or DICOM series folders`);
  const seen = new Map<string, string>();
  for (const c of cases) {
    const prev = seen.get(c.out);
    if (prev) throw new Error(`predict: '${prev}' and '${c.input}' would both be written to '${c.out}'; rename one`);
    seen.set(c.out, c.input);
  }
  if (existsSync(out) && !statSync(out).isDirectory()) throw new Error(`predict: --out '${out}' must be a folder when --input is a folder of cases`);
  return { cases, folder: true, ignored };
}

/** A loaded model: runs a batch of B x H x W x 1 inputs in [0, 1] and returns B x H x W foreground probabilities. */
interface Runner {
  height: number;
  width: number;
  metadata: InferenceMetadata & { present: boolean };
  run(x: Float32Array, batch: number): Promise<Float32Array>;
  close(): Promise<void>;
}

async function loadRunner(path: string, backend: string): Promise<Runner> {
  if (!existsSync(path)) throw new Error(`predict: --model '${path}' does not exist`);
  const { onnxModelInfo } = await import('@mrlseg/models');
  if (statSync(path).isDirectory()) {
    const { BACKEND_CHOICES, selectBackend } = await import('../backend');
    if (!(BACKEND_CHOICES as readonly string[]).includes(backend)) throw new Error(`--backend must be one of ${BACKEND_CHOICES.join(', ')}, got '${backend}'`);
    await selectBackend(backend as (typeof BACKEND_CHOICES)[number]);
    const tf = await import('@tensorflow/tfjs');
    const { loadCheckpoint } = await import('@mrlseg/models');
    const { model, config } = await loadCheckpoint(path);
    if (config.spec.kind === 'rl-net') {
      model.dispose();
      throw new Error(`predict: '${path}' is a Reinforcement-Net (policy/value); export it with its Segmentation-Net (export-onnx --seg-checkpoint) to predict masks`);
    }
    const inf = config.meta?.inference;
    const { inferenceMetadataFromProps } = await import('@mrlseg/types');
    const metadata = inferenceMetadataFromProps(inf && typeof inf === 'object' ? (inf as Record<string, string>) : undefined);
    const s = config.spec.inputSize;
    return {
      height: s,
      width: s,
      metadata,
      run: async (x, batch) => {
        const t = tf.tensor4d(x, [batch, s, s, 1]);
        const y = model.predict(t) as import('@tensorflow/tfjs').Tensor;
        const out = (await y.data()) as Float32Array;
        tf.dispose([t, y]);
        return out;
      },
      close: async () => {
        model.dispose();
      },
    };
  }
  const bytes = readFileSync(path);
  let info;
  try {
    info = onnxModelInfo(bytes);
  } catch (e) {
    throw new Error(`predict: --model '${path}' is neither a checkpoint folder nor an ONNX file: ${(e as Error).message}`, { cause: e });
  }
  const inp = info.inputs[0];
  const d = inp?.dims ?? [];
  const layout = d.length === 4 && d[3] === 1 ? 'NHWC' : d.length === 4 && d[1] === 1 ? 'NCHW' : null;
  if (!inp || info.inputs.length !== 1 || !layout) throw new Error(`predict: '${path}' must have one input of shape [batch, H, W, 1] or [batch, 1, H, W], has ${JSON.stringify(info.inputs)}`);
  const probName = info.outputs.some((v) => v.name === 'probabilities') ? 'probabilities' : null;
  if (!probName) throw new Error(`predict: '${path}' has no 'probabilities' output (outputs: ${info.outputs.map((v) => v.name).join(', ')})`);
  const { inferenceMetadataFromProps } = await import('@mrlseg/types');
  const metadata = inferenceMetadataFromProps(info.metadata);
  const [gh, gw] = layout === 'NHWC' ? [d[1], d[2]] : [d[2], d[3]];
  const h = typeof gh === 'number' && gh > 0 ? gh : metadata.inputSize?.[0];
  const w = typeof gw === 'number' && gw > 0 ? gw : metadata.inputSize?.[1];
  if (!h || !w) throw new Error(`predict: '${path}' leaves its input size open and has no 'mrlseg.input_size' metadata`);
  const ort = await import('onnxruntime-node');
  const sess = await ort.InferenceSession.create(bytes);
  return {
    height: h,
    width: w,
    metadata,
    run: async (x, batch) => {
      const dims = layout === 'NHWC' ? [batch, h, w, 1] : [batch, 1, h, w];
      const r = await sess.run({ [inp.name]: new ort.Tensor('float32', x, dims) }, [probName]);
      return r[probName].data as Float32Array;
    },
    close: async () => sess.release(),
  };
}

type DataModule = typeof import('@mrlseg/data');

/** A case being predicted: its slices as grey 0..255 images, and where the probabilities go. */
interface LoadedCase {
  c: PredictCase;
  width: number;
  height: number;
  slices: number;
  /** Grey 0..255 slice `n` (row-major height x width). */
  slice(n: number): Float32Array;
  /** Receives slice `n`'s probabilities at the slice's size. */
  put(n: number, p: Float32Array): void;
  /** Writes the output file; returns the foreground count. */
  finish(): Promise<number>;
  dims: number[];
}

const windowed = (data: DataModule, values: Float32Array, w: [number, number] | null): Float32Array => {
  if (w) return data.applyCtWindow(values, w[0], w[1]);
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  const k = hi > lo ? 255 / (hi - lo) : 0;
  const out = new Float32Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = (values[i] - lo) * k;
  return out;
};

async function loadCase(data: DataModule, c: PredictCase, o: { axis: 0 | 2; ctWindow: [number, number] | null; threshold: number; probabilities: boolean }): Promise<LoadedCase> {
  mkdirSync(dirname(c.out), { recursive: true });
  if (c.kind === 'image') {
    const img = await data.decodeGrey(c.input);
    const grey = new Float32Array(img.data);
    let probs: Float32Array | null = null;
    return {
      c,
      width: img.width,
      height: img.height,
      slices: 1,
      dims: [img.width, img.height],
      slice: () => grey,
      put: (_n, p) => void (probs = p),
      finish: async () => {
        const p = probs!;
        const out = new Uint8Array(p.length);
        let fg = 0;
        for (let i = 0; i < p.length; i++) {
          if (p[i] >= o.threshold) fg++;
          out[i] = o.probabilities ? Math.round(Math.min(1, Math.max(0, p[i])) * 255) : p[i] >= o.threshold ? 1 : 0;
        }
        await data.writeFileAtomic(c.out, await data.encodeGreyPng(out, img.width, img.height, { binary: !o.probabilities }));
        return fg;
      },
    };
  }
  let dims: [number, number, number];
  let volume: Float32Array;
  let geometry: import('@mrlseg/data').NiftiGeometry;
  let axis: 0 | 2;
  if (c.kind === 'nifti') {
    const info = await data.readNiftiInfo(c.input);
    dims = info.dims;
    geometry = info.geometry;
    volume = await data.readVolume(info);
    axis = o.axis;
  } else {
    const s = await data.readDicomSeries(c.input);
    dims = s.dims;
    geometry = s.geometry;
    volume = s.volume;
    axis = 2; // a series is segmented in its own image plane
  }
  const { width, height, slices } = data.sliceGeometry({ dims } as import('@mrlseg/data').NiftiInfo, axis);
  const out = o.probabilities ? new Float32Array(volume.length) : new Uint8Array(volume.length);
  let fg = 0;
  return {
    c,
    width,
    height,
    slices,
    dims,
    slice: (n) => windowed(data, data.volumeSlice(volume, dims, axis, n), o.ctWindow),
    put: (n, p) => {
      // Loops, not TypedArray.from(p, fn): V8's mapped from() costs about a microsecond a value.
      const v = o.probabilities ? new Float32Array(p.length) : new Uint8Array(p.length);
      for (let i = 0; i < p.length; i++) {
        const x = p[i];
        if (x >= o.threshold) fg++;
        v[i] = o.probabilities ? (x < 0 ? 0 : x > 1 ? 1 : x) : x >= o.threshold ? 1 : 0;
      }
      data.setVolumeSlice(out, dims, axis, n, v);
    },
    finish: async () => {
      await data.writeNifti(c.out, geometry, out, { description: o.probabilities ? 'mrlseg foreground probability' : 'mrlseg label (1 = foreground)' });
      return fg;
    },
  };
}

const firstLine = (e: unknown) => (e instanceof Error ? e.message : String(e)).split('\n')[0];

/**
 * Predicts every case of `o.input` with one model. A single case that fails throws; in a folder,
 * failed cases are reported in the summary (and as 'case-end' events) and the others go on.
 */
export async function predictCommand(o: PredictOptions): Promise<PredictSummary> {
  const t0 = performance.now();
  const threshold = o.threshold ?? 0.5;
  if (!(threshold > 0 && threshold < 1)) throw new Error(`--threshold must lie in (0, 1), got ${threshold}`);
  const batchSize = o.batchSize ?? 8;
  if (!(Number.isInteger(batchSize) && batchSize >= 1)) throw new Error(`--batch-size must be an integer >= 1, got ${batchSize}`);
  if (o.axis !== undefined && o.axis !== 0 && o.axis !== 2) throw new Error(`--axis must be 0 or 2, got ${String(o.axis)}`);
  const emit = o.onEvent ?? (() => {});
  const plan = await planCases(o.input, o.out);
  const data = await import('@mrlseg/data');
  const runner = await loadRunner(o.model, o.backend ?? 'wasm');
  const md = runner.metadata;
  const axis = o.axis ?? md.sliceAxis;
  const S = [runner.height, runner.width] as const;
  const results: CaseResult[] = [];
  let totalSlices = 0;
  emit({ type: 'predict-start', cases: plan.cases.length, model: o.model, inputSize: [S[0], S[1]], metadata: md.present, sliceAxis: axis });
  try {
    // Slices of consecutive cases share batches; a case is written once all its slices are back.
    type Item = { lc: LoadedCase; n: number; x: Float32Array };
    let pending: Item[] = [];
    const remaining = new Map<LoadedCase, number>();
    const settle = async (lc: LoadedCase) => {
      let r: CaseResult;
      try {
        const fg = await lc.finish();
        r = { name: lc.c.name, kind: lc.c.kind, input: lc.c.input, out: lc.c.out, status: 'done', dims: lc.dims, slices: lc.slices, foreground: fg };
      } catch (e) {
        if (!plan.folder) throw e;
        r = { name: lc.c.name, kind: lc.c.kind, input: lc.c.input, out: null, status: 'failed', dims: lc.dims, slices: lc.slices, foreground: 0, error: firstLine(e) };
      }
      results.push(r);
      emit({ type: 'case-end', case: r.name, status: r.status, out: r.out, foreground: r.foreground, error: r.error });
    };
    const flush = async (all: boolean) => {
      while (pending.length >= batchSize || (all && pending.length > 0)) {
        const items = pending.slice(0, batchSize);
        pending = pending.slice(items.length);
        const per = S[0] * S[1];
        const x = new Float32Array(items.length * per);
        items.forEach((it, b) => x.set(it.x, b * per));
        const p = await runner.run(x, items.length);
        for (let b = 0; b < items.length; b++) {
          const { lc, n } = items[b];
          const back = data.resizeBilinear(p.subarray(b * per, (b + 1) * per), S[1], S[0], lc.width, lc.height);
          lc.put(n, back);
          const left = remaining.get(lc)! - 1;
          remaining.set(lc, left);
          totalSlices++;
          emit({ type: 'slices', case: lc.c.name, done: lc.slices - left, total: lc.slices });
          if (left === 0) {
            remaining.delete(lc);
            await settle(lc);
          }
        }
      }
    };
    for (const c of plan.cases) {
      let lc: LoadedCase;
      try {
        lc = await loadCase(data, c, { axis, ctWindow: md.ctWindow, threshold, probabilities: o.probabilities === true });
      } catch (e) {
        if (!plan.folder) throw e;
        const r: CaseResult = { name: c.name, kind: c.kind, input: c.input, out: null, status: 'failed', dims: [], slices: 0, foreground: 0, error: firstLine(e) };
        results.push(r);
        emit({ type: 'case-end', case: r.name, status: 'failed', out: null, foreground: 0, error: r.error });
        continue;
      }
      emit({ type: 'case-start', case: c.name, kind: c.kind, slices: lc.slices });
      remaining.set(lc, lc.slices);
      for (let n = 0; n < lc.slices; n++) {
        const grey = lc.slice(n);
        const x = data.resizeBilinear(grey, lc.width, lc.height, S[1], S[0]);
        for (let i = 0; i < x.length; i++) {
          const v = x[i] * md.intensityScale + md.intensityOffset;
          x[i] = v < 0 ? 0 : v > 1 ? 1 : v;
        }
        pending.push({ lc, n, x });
        if (pending.length >= batchSize) await flush(false);
      }
      // A volume is finished before the next case is read (bounded memory); images batch together.
      if (lc.c.kind !== 'image') await flush(true);
    }
    await flush(true);
  } finally {
    await runner.close();
  }
  const order = new Map(plan.cases.map((c, n) => [c.input, n]));
  results.sort((a, b) => order.get(a.input)! - order.get(b.input)!);
  const summary: PredictSummary = {
    model: o.model,
    modelSize: [S[0], S[1]],
    metadata: md,
    sliceAxis: axis,
    cases: results,
    done: results.filter((r) => r.status === 'done').length,
    failed: results.filter((r) => r.status === 'failed').length,
    slices: totalSlices,
    ignored: plan.ignored,
    durationMs: performance.now() - t0,
  };
  emit({ type: 'predict-end', done: summary.done, failed: summary.failed, slices: summary.slices, durationMs: summary.durationMs });
  return summary;
}

/** The human summary printed at the end (stdout). */
export function formatPredictSummary(s: PredictSummary): string {
  const lines: string[] = [];
  const md = s.metadata;
  lines.push(
    `model ${s.model}: input ${s.modelSize[0]} x ${s.modelSize[1]}, ${md.ctWindow ? `CT window [${md.ctWindow[0]}, ${md.ctWindow[1]}] HU` : 'no CT window'}, slice axis ${s.sliceAxis}${md.present ? '' : ' (the model carries no metadata: defaults)'}`,
  );
  for (const r of s.cases) {
    if (r.status === 'done') lines.push(`wrote ${r.out}: ${r.kind} ${r.dims.join(' x ')}${r.kind === 'image' ? '' : `, ${r.slices} slices`}, ${r.foreground} foreground ${r.kind === 'image' ? 'pixels' : 'voxels'}`);
  }
  const failed = s.cases.filter((r) => r.status === 'failed');
  lines.push(`${s.done} of ${s.cases.length} case(s) predicted (${s.slices} slices) in ${(s.durationMs / 1000).toFixed(1)} s${failed.length ? `; ${failed.length} failed:` : ''}`);
  for (const r of failed) lines.push(`  ${r.input}: ${r.error}`);
  if (s.ignored.length) lines.push(`ignored (not an image, NIfTI volume or DICOM series): ${s.ignored.length} entr${s.ignored.length === 1 ? 'y' : 'ies'}`);
  return lines.join('\n');
}

const num = (name: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isFinite(n)) throw new Error(`--${name} must be a number, got '${v}'`);
  return n;
};
const int = (name: string, min = 1) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer >= ${min}, got '${v}'`);
  return n;
};
const axisArg = (v: string): 0 | 2 => {
  if (v !== '0' && v !== '2') throw new Error(`--axis must be 0 or 2, got '${v}'`);
  return Number(v) as 0 | 2;
};

export function register(program: Command): void {
  program
    .command('predict')
    .description('segment images, NIfTI volumes, DICOM series or a folder of them with a checkpoint or an ONNX model (one process, one model, batched slices)')
    .requiredOption('--model <path>', 'checkpoint directory or .onnx file')
    .option('--input <path>', 'an image (PNG/JPEG/TIFF/WebP), a NIfTI volume (.nii, .nii.gz), a DICOM series folder, or a folder holding any mix of these')
    .option('--image <file>', 'same as --input (kept for scripts written for one image)')
    .requiredOption('--out <path>', 'output file for one case (PNG for an image, .nii.gz/.nii for a volume); the output folder for a folder of cases')
    .option('--probabilities', 'images: the 8-bit map round(255 p); volumes: float32 p, instead of the mask / uint8 labels')
    .option('--threshold <p>', 'foreground when p >= threshold', num('threshold'), 0.5)
    .option('--axis <n>', "NIfTI slice axis, 0 or 2 (default: the model's metadata, else 0)", axisArg)
    .option('--batch-size <n>', 'slices per forward pass', int('batch-size'), 8)
    .option('--strict', 'exit with code 2 when any case of a folder failed')
    .option('--json', 'print the summary as one JSON object')
    .option('--backend <name>', 'TensorFlow.js backend for checkpoints (auto|tensorflow-gpu|tensorflow|wasm|cpu)', 'wasm')
    .addHelpText(
      'after',
      `
Volumes are cut into 2-D slices along the model's slice axis (ONNX metadata_props / checkpoint
meta.inference; --axis overrides it for NIfTI; a DICOM series is cut in its own image plane), the
CT window of the training config maps HU to grey, and the labels are written as a uint8 NIfTI with
the input's geometry (a DICOM series: its RAS+ affine from ImagePositionPatient,
ImageOrientationPatient and PixelSpacing). Folder outputs are named <name>.png and <name>.nii.gz.
An unreadable case in a folder is named, skipped and counted in the summary; outputs are written
whole (temporary file, then rename). Progress goes to stderr: bars on a terminal, JSON lines
otherwise.

Examples:
  mrlseg predict --model best.onnx --input imaging.nii.gz --out labels.nii.gz
  mrlseg predict --model best.onnx --input cases/ --out predictions/ --strict
  mrlseg predict --model runs/<id>/checkpoints/pretrain-4/seg --input scan.png --out mask.png`,
    )
    .action(async (o: { model: string; input?: string; image?: string; out: string; probabilities?: boolean; threshold: number; axis?: 0 | 2; batchSize: number; strict?: boolean; json?: boolean; backend: string }) => {
      const input = o.input ?? o.image;
      if (input === undefined) throw new Error('predict: give --input <file|folder>');
      if (o.input !== undefined && o.image !== undefined) throw new Error('predict: give --input or --image, not both');
      const progress: PredictProgress = createPredictProgress();
      let s: PredictSummary;
      try {
        s = await predictCommand({ ...o, input, onEvent: progress.listener });
      } finally {
        progress.stop();
      }
      console.log(o.json ? JSON.stringify(s) : formatPredictSummary(s));
      if (o.strict && s.failed > 0) process.exitCode = 2;
    });
}

