/**
 * `mrlseg predict` on volumes and folders: a NIfTI slice predicts exactly what the same slice as a
 * PNG predicts (axis 0 and axis 2, the axis taken from the model's metadata or --axis), batches
 * give the same labels as single slices, outputs keep the input's geometry (NIfTI header, DICOM
 * affine), a folder of mixed cases goes through in one call with an unreadable case named,
 * skipped and counted, and the binary exits 2 with --strict.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { decodeGrey, encodeGreyPng, niftiAffine, readDicomSeries, readNiftiInfo, readVolume, volumeSlice, writeNifti, type NiftiGeometry } from '@mrlseg/data';
import { onnxModelInfo, usePortableBackend } from '@mrlseg/models';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportOnnxCommand, modelsInit } from '../src/commands/models';
import { planCases, predictCommand, type PredictSummary } from '../src/commands/predict';
import { writeDicom } from './dicom-fixture';

const run = promisify(execFile);
const here = dirname(fileURLToPath(import.meta.url));
const bin = join(dirname(here), 'bin', 'mrlseg.mjs');
const root = mkdtempSync(join(tmpdir(), 'mrlseg-predict-'));
const p = (...f: string[]) => join(root, ...f);
afterAll(() => rmSync(root, { recursive: true, force: true }));

// A volume of 3 x 20 x 24 voxels; every slice holds 0 and 255, so without a CT window (min..max
// scaling) each slice's grey values are its voxel values.
const dims: [number, number, number] = [3, 20, 24];
const value = (i: number, j: number, k: number) => (i === 0 && j === 0 && k === 0) || (j === 0 && k === 0) ? 0 : (j === 19 && k === 23) || (i === 2 && k === 0 && j === 1) ? 255 : (37 * i + 11 * j + 5 * k + ((j * k) % 7) * 13) % 256;
const geometry: NiftiGeometry = {
  dims,
  pixdim: [-1, 2.5, 0.75, 0.8],
  xyztUnits: 10,
  qformCode: 1,
  sformCode: 1,
  quatern: [0, 0.6, 0.8],
  qoffset: [-12.5, 30.25, 7],
  srow: [
    [0, 0, -0.8, 12],
    [0, -0.75, 0, 30],
    [-2.5, 0, 0, 7],
  ],
};
const volume = new Float32Array(dims[0] * dims[1] * dims[2]);
for (let k = 0; k < dims[2]; k++) for (let j = 0; j < dims[1]; j++) for (let i = 0; i < dims[0]; i++) volume[i + dims[0] * (j + dims[1] * k)] = value(i, j, k);

/** An ONNX model whose metadata says: no CT window, slice axis `axis`. */
function withMetadata(ckpt: string, out: string, inference: Record<string, string>): Promise<unknown> {
  const dir = p(`${out}-ckpt`);
  mkdirSync(dir, { recursive: true });
  for (const f of ['model.json', 'weights.bin']) writeFileSync(join(dir, f), readFileSync(join(ckpt, f)));
  const cfg = JSON.parse(readFileSync(join(ckpt, 'config.json'), 'utf8'));
  cfg.meta = { ...cfg.meta, inference };
  writeFileSync(join(dir, 'config.json'), JSON.stringify(cfg));
  return exportOnnxCommand({ checkpoint: dir, out: p(out) });
}

beforeAll(async () => {
  await usePortableBackend('wasm');
  await modelsInit({ model: 'unet', size: 32, seed: 7, baseWidth: 4, out: p('unet') });
  await withMetadata(p('unet'), 'axis0.onnx', { 'mrlseg.ct_window': 'none', 'mrlseg.slice_axis': '0', 'mrlseg.run_id': 'r-test' });
  await withMetadata(p('unet'), 'axis2.onnx', { 'mrlseg.ct_window': 'none', 'mrlseg.slice_axis': '2' });
  await writeNifti(p('vol.nii.gz'), geometry, Uint8Array.from(volume));
}, 120_000);

async function slicePng(axis: 0 | 2, n: number): Promise<string> {
  const s = volumeSlice(volume, dims, axis, n);
  const [w, h] = axis === 0 ? [dims[2], dims[1]] : [dims[0], dims[1]];
  const f = p(`slice-${axis}-${n}.png`);
  writeFileSync(f, await encodeGreyPng(Uint8Array.from(s), w, h));
  return f;
}

describe('predict on a NIfTI volume', () => {
  it('export-onnx carries the checkpoint metadata (and the input size)', () => {
    expect(onnxModelInfo(readFileSync(p('axis0.onnx'))).metadata).toMatchObject({ 'mrlseg.ct_window': 'none', 'mrlseg.slice_axis': '0', 'mrlseg.run_id': 'r-test', 'mrlseg.input_size': '32x32' });
  });

  it.each([
    ['axis0.onnx', 0, undefined],
    ['axis2.onnx', 2, undefined],
    ['axis0.onnx', 2, 2],
  ] as const)('%s, axis %i (--axis %s): each label slice is the mask of the same slice predicted as a PNG; geometry kept', async (model, axis, override) => {
    const out = p(`labels-${model}-${axis}.nii.gz`);
    const s = await predictCommand({ model: p(model), input: p('vol.nii.gz'), out, axis: override, batchSize: 2 });
    expect(s.sliceAxis).toBe(axis);
    expect(s.metadata.present).toBe(true);
    expect(s.cases[0]).toMatchObject({ status: 'done', kind: 'nifti', dims: [...dims], slices: axis === 0 ? 3 : 24 });
    const info = await readNiftiInfo(out);
    expect(info.datatype).toBe(2);
    expect(info.geometry).toEqual((await readNiftiInfo(p('vol.nii.gz'))).geometry); // the header's float32 values, bit for bit
    const labels = await readVolume(info);
    let fg = 0;
    for (const v of labels) fg += v;
    expect(s.cases[0].foreground).toBe(fg);
    for (const n of axis === 0 ? [0, 2] : [0, 13]) {
      const png = await slicePng(axis, n);
      await predictCommand({ model: p(model), input: png, out: p('slice-mask.png') });
      const mask = await decodeGrey(p('slice-mask.png'));
      expect(Array.from(volumeSlice(labels, dims, axis, n)), `slice ${n}`).toEqual(Array.from(mask.data, (v) => (v ? 1 : 0)));
    }
  });

  it('a checkpoint without metadata uses the defaults (CT window [-79, 304], axis 0); batches change nothing; --probabilities writes float32', async () => {
    const one = await predictCommand({ model: p('unet'), input: p('vol.nii.gz'), out: p('b1.nii'), batchSize: 1 });
    const many = await predictCommand({ model: p('unet'), input: p('vol.nii.gz'), out: p('b8.nii'), batchSize: 8 });
    expect(one.metadata.present).toBe(false);
    expect([one.sliceAxis, one.metadata.ctWindow]).toEqual([0, [-79, 304]]);
    expect(readFileSync(p('b1.nii')).equals(readFileSync(p('b8.nii')))).toBe(true);
    expect(many.cases[0].foreground).toBe(one.cases[0].foreground);
    await predictCommand({ model: p('unet'), input: p('vol.nii.gz'), out: p('prob.nii.gz'), probabilities: true });
    const pi = await readNiftiInfo(p('prob.nii.gz'));
    expect(pi.datatype).toBe(16);
    const probs = await readVolume(pi);
    const labels = await readVolume(await readNiftiInfo(p('b1.nii')));
    expect(probs.every((v, n) => v >= 0 && v <= 1 && (v >= 0.5 ? 1 : 0) === labels[n])).toBe(true);
  });
});

describe('predict on DICOM series and folders', () => {
  const X = [0.6, 0.8, 0];
  const Y = [0, 0, -1];
  async function series(dir: string, slices = 3): Promise<void> {
    for (let k = 0; k < slices; k++) {
      const pixels = Int16Array.from({ length: 20 * 24 }, (_, q) => ((q * 7 + k * 31) % 300) + 900);
      await writeDicom(join(dir, `im${k}.dcm`), { rows: 20, cols: 24, instance: k + 1, pixels, intercept: -1024, ipp: [10 - 2.4 * k, 20 + 1.8 * k, 30], iop: [...X, ...Y], pixelSpacing: [2, 0.5], seriesUid: '1.2.840.1' });
    }
  }

  it('a DICOM series folder gives a NIfTI with the series affine', async () => {
    const dir = p('series');
    await series(dir);
    const s = await predictCommand({ model: p('axis0.onnx'), input: dir, out: p('series.nii.gz') });
    expect(s.cases[0]).toMatchObject({ kind: 'dicom', status: 'done', dims: [24, 20, 3], slices: 3 });
    const g = (await readNiftiInfo(p('series.nii.gz'))).geometry;
    const expected = niftiAffine((await readDicomSeries(dir)).geometry);
    niftiAffine(g).forEach((row, r) => row.forEach((v, c) => expect(Math.abs(v - expected[r][c])).toBeLessThan(1e-5)));
  });

  it('a folder of images, volumes and series goes through in one call; an unreadable case is named, skipped and counted', async () => {
    const inp = p('mixed');
    mkdirSync(join(inp, 'ct-series'), { recursive: true });
    await series(join(inp, 'ct-series'));
    writeFileSync(join(inp, 'a.png'), await encodeGreyPng(Uint8Array.from({ length: 30 * 20 }, (_, i) => (i * 13) % 256), 30, 20));
    writeFileSync(join(inp, 'b.png'), await encodeGreyPng(Uint8Array.from({ length: 16 * 16 }, (_, i) => (i * 5) % 256), 16, 16));
    writeFileSync(join(inp, 'vol.nii.gz'), readFileSync(p('vol.nii.gz')));
    writeFileSync(join(inp, 'broken.nii.gz'), readFileSync(p('vol.nii.gz')).subarray(0, 300));
    writeFileSync(join(inp, 'README.txt'), 'not a case');
    mkdirSync(join(inp, 'empty-folder'));
    const events: string[] = [];
    const s: PredictSummary = await predictCommand({ model: p('axis0.onnx'), input: inp, out: p('mixed-out'), batchSize: 4, onEvent: (e) => events.push(e.type) });
    expect(s.cases.map((c) => [c.name, c.kind, c.status])).toEqual([
      ['a', 'image', 'done'],
      ['b', 'image', 'done'],
      ['broken', 'nifti', 'failed'],
      ['ct-series', 'dicom', 'done'],
      ['vol', 'nifti', 'done'],
    ]);
    expect(s.cases[2].error).toMatch(/broken\.nii\.gz/);
    expect([s.done, s.failed, s.slices]).toEqual([4, 1, 1 + 1 + 3 + 3]);
    expect(s.ignored.map((f) => f.split('/').pop())).toEqual(['empty-folder', 'README.txt']);
    for (const f of ['a.png', 'b.png', 'ct-series.nii.gz', 'vol.nii.gz']) expect(existsSync(p('mixed-out', f)), f).toBe(true);
    expect(existsSync(p('mixed-out', 'broken.nii.gz'))).toBe(false);
    expect((await decodeGrey(p('mixed-out', 'a.png'))).width).toBe(30);
    expect(events.filter((e) => e === 'case-end')).toHaveLength(5);
    expect(events[0]).toBe('predict-start');
    expect(events.at(-1)).toBe('predict-end');
    // A single input that fails throws instead.
    await expect(predictCommand({ model: p('axis0.onnx'), input: join(inp, 'broken.nii.gz'), out: p('x.nii.gz') })).rejects.toThrow(/broken\.nii\.gz/);
  });

  it('plans outputs and refuses what it cannot do', async () => {
    await expect(planCases(p('nope'), p('o'))).rejects.toThrow(/--input '.*nope' does not exist/);
    writeFileSync(p('notes.txt'), 'x');
    await expect(planCases(p('notes.txt'), p('o'))).rejects.toThrow(/neither an image .* nor a folder/);
    mkdirSync(p('none'));
    await expect(planCases(p('none'), p('o'))).rejects.toThrow(/holds no images/);
    mkdirSync(p('clash'));
    writeFileSync(p('clash', 'x.nii'), '');
    writeFileSync(p('clash', 'x.nii.gz'), '');
    await expect(planCases(p('clash'), p('o'))).rejects.toThrow(/would both be written to '.*x\.nii\.gz'/);
    await expect(predictCommand({ model: p('axis0.onnx'), input: p('vol.nii.gz'), out: p('o.nii'), axis: 1 as 0 })).rejects.toThrow(/--axis must be 0 or 2, got 1/);
  });

  it('the binary prints the summary, JSON progress lines on a pipe, and exits 2 with --strict when a case failed', async () => {
    const r = await run(process.execPath, [bin, 'predict', '--model', p('axis0.onnx'), '--input', p('mixed'), '--out', p('bin-out'), '--strict']).catch((e: { code: number; stdout: string; stderr: string }) => e);
    expect((r as { code?: number }).code).toBe(2);
    expect(r.stdout).toMatch(/4 of 5 case\(s\) predicted \(8 slices\) in [\d.]+ s; 1 failed:\n {2}.*broken\.nii\.gz: /);
    const lines = r.stderr.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { type: string; status?: string });
    expect(lines.filter((l) => l.type === 'case-end' && l.status === 'failed')).toHaveLength(1);
  }, 120_000);
});
