import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DatasetSchema, PreprocessingSchema, type DatasetConfig } from '@mrlseg/types';
import { openDataset, type SampleRef } from '../src/index';
import { maskBytes, tempDir, writeDicom, writeImage, writeNifti } from './fixtures';

const cfg = (c: Partial<DatasetConfig>) => DatasetSchema.parse(c);
const byId = (refs: SampleRef[]) => Object.fromEntries(refs.map((r) => [r.id, r]));
const noPre = PreprocessingSchema.parse({ size: 16, augmentation: { enabled: false } });

describe('kits19 (NIfTI volumes, slices along the first axis)', () => {
  // 3 slices (axis 0) of 4 rows (axis 1) x 5 columns (axis 2). Slice i has i*2 tumour voxels in row 1
  // and one kidney voxel at (row 3, col 4); imaging value = 100*i + 10*j + k - 500 HU.
  const seg = (i: number, j: number, k: number) => (j === 1 && k < i * 2 ? 2 : j === 3 && k === 4 ? 1 : 0);
  const hu = (i: number, j: number, k: number) => 100 * i + 10 * j + k - 500;
  async function makeKits(withImaging: boolean) {
    const root = tempDir();
    await writeNifti(join(root, 'case_00000', 'segmentation.nii.gz'), [3, 4, 5], seg, { spacing: [5, 0.8, 0.7] });
    if (withImaging) await writeNifti(join(root, 'case_00000', 'imaging.nii.gz'), [3, 4, 5], hu, { datatype: 4 });
    await writeNifti(join(root, 'case_00001', 'segmentation.nii.gz'), [2, 4, 5], () => 0, { datatype: 512 });
    return root;
  }

  it.each([
    ['tumour', [0, 2, 4]],
    ['kidney', [1, 1, 1]],
    ['kidney+tumour', [1, 3, 5]],
  ] as const)('counts %s voxels per slice at 5 x 4 pixels', async (lesion, fg) => {
    const root = await makeKits(false);
    const { refs, problems } = await openDataset(cfg({ format: 'kits19', root, lesion })).scan();
    expect(problems).toEqual([]);
    expect(refs.map((r) => r.id)).toEqual(['case_00000_0000', 'case_00000_0001', 'case_00000_0002', 'case_00001_0000', 'case_00001_0001']);
    const c0 = refs.filter((r) => r.patient === 'case_00000');
    expect(c0.map((r) => r.foregroundPixels)).toEqual(fg);
    expect(c0.map((r) => r.fbRatio)).toEqual(fg.map((f) => f / (20 - f)));
    expect(c0[0]).toMatchObject({ width: 5, height: 4, spacing: [Math.fround(0.7), Math.fround(0.8)] }); // pixdim is float32
    expect(c0[0].source.image).toBeUndefined(); // segmentation only: inspectable
  });

  it('loads a slice: pixel (row j, col k) is voxel (i, j, k), HU windowed to [-79, 304] -> [0, 1]', async () => {
    const root = await makeKits(true);
    const ds = openDataset(cfg({ format: 'kits19', root }));
    const refs = await ds.list();
    const pre = PreprocessingSchema.parse({ size: 16, augmentation: { enabled: false } });
    const [s] = await ds.loadMany([refs[2]], pre);
    expect(s.meta.preprocessing?.ctWindow).toEqual([-79, 304]);
    // Check the raw geometry at native size through a 5x4 -> 16x16 resize-free path: compare a nearest-resized mask.
    const raw = await ds.loadMany([refs[2]], { ...pre, size: 16 });
    expect(raw[0].mask.length).toBe(256);
    // Slice 2: tumour in row 1, columns 0..3; a 16x16 nearest resize maps row y -> floor((y+0.5)*4/16), col x -> floor((x+0.5)*5/16).
    for (let y = 0; y < 16; y++) for (let x = 0; x < 16; x++) {
      const j = Math.floor(((y + 0.5) * 4) / 16);
      const k = Math.floor(((x + 0.5) * 5) / 16);
      expect(s.mask[y * 16 + x]).toBe(seg(2, j, k) === 2 ? 1 : 0);
    }
    // Value at an exact source pixel centre: HU(2, j, k) = -300 + 10 j + k lies below -79 for every pixel -> 0.
    expect(Math.max(...s.image)).toBe(0);
    const hi = await ds.load(refs.find((r) => r.id === 'case_00000_0002')!, { ...pre, ctWindow: { mode: 'on', min: -400, max: -200 } });
    // Top-left output pixel samples source (0, 0) exactly after clamping: HU -300 -> (100/200) = 0.5.
    expect(hi.image[0]).toBeCloseTo(0.5, 6);
  });

  it('reads big-endian volumes and applies scl_slope/scl_inter to imaging (not to labels)', async () => {
    const root = tempDir();
    await writeNifti(join(root, 'case_00000', 'segmentation.nii.gz'), [3, 4, 5], seg, { datatype: 512, bigEndian: true });
    // stored = (HU + 1000) / 2 -> slope 2, inter -1000
    await writeNifti(join(root, 'case_00000', 'imaging.nii.gz'), [3, 4, 5], (i, j, k) => (hu(i, j, k) + 1000) / 2 , { datatype: 4, bigEndian: true, slope: 2, inter: -1000 });
    const ds = openDataset(cfg({ format: 'kits19', root }));
    const refs = await ds.list();
    expect(refs.map((r) => r.foregroundPixels)).toEqual([0, 2, 4]);
    // Slice 2, pixel (row 0, col 0): stored 300 -> HU 2 * 300 - 1000 = -400 + 100 = -300 (even k keeps stored values integral).
    const s = await ds.load(refs[2], { ...noPre, ctWindow: { mode: 'on', min: -310, max: -250 } });
    expect(s.image[0]).toBeCloseTo((-300 + 310) / 60, 5); // top-left output samples voxel (2, 0, 0)
  });

  it('a case without imaging is inspectable but loading it names the missing file', async () => {
    const root = await makeKits(false);
    const ds = openDataset(cfg({ format: 'kits19', root }));
    const [r] = await ds.list();
    await expect(ds.load(r, noPre)).rejects.toThrow(/imaging\.nii\.gz: missing/);
  });

  it('names a truncated or corrupt NIfTI and carries on with the other cases', async () => {
    const root = await makeKits(false);
    const file = join(root, 'case_00000', 'segmentation.nii.gz');
    const bytes = readFileSync(file);
    writeFileSync(file, bytes.subarray(0, Math.floor(bytes.length * 0.6)));
    await writeNifti(join(root, 'case_00002', 'segmentation.nii.gz'), [2, 4, 5], () => 1, { gzip: false });
    writeFileSync(join(root, 'case_00003.txt'), 'not a case');
    await writeNifti(join(root, 'case_00004', 'segmentation.nii.gz'), [2, 4, 5], () => 0);
    writeFileSync(join(root, 'case_00004', 'segmentation.nii.gz'), 'garbage, not gzip, not NIfTI');
    const { refs, problems } = await openDataset(cfg({ format: 'kits19', root })).scan();
    expect(problems.map((p) => p.file).sort()).toEqual([file, join(root, 'case_00004', 'segmentation.nii.gz')]);
    expect(problems.find((p) => p.file === file)!.message).toMatch(/truncated|unexpected end/i);
    expect(new Set(refs.map((r) => r.patient))).toEqual(new Set(['case_00001', 'case_00002']));
  });
});

describe('2-D layouts', () => {
  it('kits19-slices: red = tumour, blue = kidney', async () => {
    const root = tempDir();
    const w = 6;
    const h = 4;
    const rgb = new Uint8Array(w * h * 3);
    rgb[0] = 255; // (0,0) red
    rgb[3] = 255; // (0,1) red
    rgb[(w + 2) * 3 + 2] = 255; // (1,2) blue
    await writeImage(join(root, 'masks', '7_12.png'), rgb, w, h, 3);
    await writeImage(join(root, 'images', '7_12.png'), new Uint8Array(w * h).fill(80), w, h);
    for (const [lesion, fg] of [['tumour', 2], ['kidney', 1], ['kidney+tumour', 3]] as const) {
      const [r] = await openDataset(cfg({ format: 'kits19-slices', root, lesion })).list();
      expect(r).toMatchObject({ id: '7_12', patient: '7', slice: 12, width: 6, height: 4, foregroundPixels: fg, fbRatio: fg / (24 - fg) });
    }
  });

  it('pancreas-ct JPEG exports: masks thresholded at 127; an image without mask and a size mismatch are named', async () => {
    const root = tempDir();
    const m = maskBytes(16, 16, (x, y) => x >= 4 && x < 12 && y >= 4 && y < 8); // 32 px
    await writeImage(join(root, 'masks', 'PANCREAS_0001-0100.jpg'), m, 16, 16);
    await writeImage(join(root, 'images', 'PANCREAS_0001-0100.jpg'), new Uint8Array(256).fill(120), 16, 16);
    await writeImage(join(root, 'images', 'PANCREAS_0002-0005.jpg'), new Uint8Array(256), 16, 16);
    await writeImage(join(root, 'images', 'PANCREAS_0003-0001.jpg'), new Uint8Array(256), 16, 16);
    await writeImage(join(root, 'masks', 'PANCREAS_0003-0001.jpg'), new Uint8Array(64), 8, 8);
    const { refs, problems } = await openDataset(cfg({ format: 'pancreas-ct', root })).scan();
    expect(refs).toHaveLength(1);
    expect(refs[0]).toMatchObject({ patient: 'PANCREAS_0001', slice: 100, foregroundPixels: 32, fbRatio: 32 / 224 });
    expect(problems).toEqual(
      expect.arrayContaining([
        { file: join(root, 'images', 'PANCREAS_0002-0005.jpg'), message: expect.stringMatching(/image without mask/) },
        { file: join(root, 'masks', 'PANCREAS_0003-0001.jpg'), message: expect.stringMatching(/mask is 8x8 .* is 16x16/) },
      ]),
    );
  });

  it('busi: _mask and _mask_1 are united; normal cases without masks are empty; RGB images become grey', async () => {
    const root = tempDir();
    const rgb = new Uint8Array(10 * 10 * 3).fill(200);
    await writeImage(join(root, 'benign', 'benign (3).png'), rgb, 10, 10, 3);
    await writeImage(join(root, 'benign', 'benign (3)_mask.png'), maskBytes(10, 10, (x, y) => x < 3 && y < 3), 10, 10); // 9
    await writeImage(join(root, 'benign', 'benign (3)_mask_1.png'), maskBytes(10, 10, (x, y) => x < 2 && y < 5), 10, 10); // 10, 6 shared
    await writeImage(join(root, 'normal', 'normal (1).png'), new Uint8Array(100).fill(50), 10, 10);
    await writeImage(join(root, 'malignant', 'malignant (2).png'), new Uint8Array(100), 10, 10);
    const ds = openDataset(cfg({ format: 'busi', root }));
    const { refs, problems } = await ds.scan();
    const m = byId(refs);
    expect(m['benign (3)']).toMatchObject({ foregroundPixels: 13, fbRatio: 13 / 87 });
    expect(m['benign (3)'].source.mask).toHaveLength(2);
    expect(m['normal (1)']).toMatchObject({ foregroundPixels: 0, fbRatio: 0 });
    expect(problems).toEqual([{ file: join(root, 'malignant', 'malignant (2).png'), message: expect.stringMatching(/without mask/) }]);
    const s = await ds.load(m['benign (3)'], noPre);
    expect(s.meta.preprocessing).toMatchObject({ rgbToGrey: true, resizedTo: [16, 16], scaledTo01: true });
    expect(s.image[0]).toBeCloseTo(200 / 255, 5);
  });

  it('folder: PNG, JPEG and TIFF matched by name; a truncated file is named; nothing written into the folder', async () => {
    const root = tempDir();
    await writeImage(join(root, 'images', 'a_1.tif'), new Uint8Array(64).fill(10), 8, 8);
    await writeImage(join(root, 'masks', 'a_1.png'), maskBytes(8, 8, (x) => x === 0), 8, 8);
    await writeImage(join(root, 'images', 'b_2.png'), new Uint8Array(64), 8, 8);
    await writeImage(join(root, 'masks', 'b_2.tiff'), maskBytes(8, 8, () => false), 8, 8);
    await writeImage(join(root, 'images', 'c_3.png'), new Uint8Array(64 * 64).map((_, i) => i % 251), 64, 64);
    await writeImage(join(root, 'masks', 'c_3.png'), maskBytes(64, 64, () => true), 64, 64);
    const full = readFileSync(join(root, 'images', 'c_3.png'));
    writeFileSync(join(root, 'images', 'c_3.png'), full.subarray(0, full.length - 40));
    const before = readdirSync(root, { recursive: true }).sort();
    const ds = openDataset(cfg({ format: 'folder', root }), { cacheDir: join(tempDir(), 'cache') });
    const { refs, problems } = await ds.scan();
    expect(refs.map((r) => [r.id, r.patient, r.slice, r.foregroundPixels])).toEqual([['a_1', 'a', 1, 8], ['b_2', 'b', 2, 0]]);
    expect(problems).toHaveLength(1);
    expect(problems[0].file).toBe(join(root, 'images', 'c_3.png'));
    await ds.loadMany(refs, noPre);
    expect(readdirSync(root, { recursive: true }).sort()).toEqual(before);
    await expect(openDataset(cfg({ format: 'folder', root }), { cacheDir: join(root, 'cache') }).load(refs[0], noPre)).rejects.toThrow(/inside the dataset folder/);
  });

  it('folder: nnU-Net dataset.json (v2 imagesTr/<case>_0000.png + labelsTr/<case>.png, label > 0)', async () => {
    const root = tempDir();
    writeFileSync(join(root, 'dataset.json'), JSON.stringify({ channel_names: { 0: 'CT' }, labels: { background: 0, tumour: 1 }, file_ending: '.png', numTraining: 2 }));
    const lab = new Uint8Array(36);
    lab[0] = 1;
    lab[7] = 2;
    await writeImage(join(root, 'imagesTr', 'case_001_0000.png'), new Uint8Array(36), 6, 6);
    await writeImage(join(root, 'labelsTr', 'case_001.png'), lab, 6, 6);
    await writeImage(join(root, 'imagesTr', 'case_002_0000.png'), new Uint8Array(36), 6, 6);
    const { refs, problems } = await openDataset(cfg({ format: 'folder', root })).scan();
    expect(refs.map((r) => [r.id, r.foregroundPixels])).toEqual([['case_001', 2]]);
    expect(problems[0]).toMatchObject({ file: join(root, 'imagesTr', 'case_002_0000.png'), message: expect.stringMatching(/without label/) });
  });
});

describe('pancreas-ct DICOM series + NIfTI labels', () => {
  it('pairs label slice k with the k-th DICOM by z, converts to HU, and names an unreadable DICOM', async () => {
    const root = tempDir();
    const rows = 4;
    const cols = 6;
    // Files named against z order, so sorting by ImagePositionPatient matters.
    for (const [n, z] of [[1, 30], [2, 10], [3, 20]] as const) {
      const px = new Int16Array(rows * cols).fill(1000 + z); // HU = stored - 1024
      await writeDicom(join(root, 'Pancreas-CT', 'PANCREAS_0001', 'study', 'series', `1-00${n}.dcm`), { rows, cols, z, instance: n, pixels: px });
    }
    // label (i = col, j = row, k = slice): slice k has k+1 foreground voxels in row 0.
    await writeNifti(join(root, 'labels', 'label0001.nii.gz'), [cols, rows, 3], (i, j, k) => (j === 0 && i <= k ? 1 : 0));
    await writeNifti(join(root, 'labels', 'label0002.nii.gz'), [cols, rows, 1], () => 0);
    writeFileSync(join(root, 'Pancreas-CT', 'PANCREAS_0001', 'study', 'series', '1-009.dcm'), 'not dicom');
    const ds = openDataset(cfg({ format: 'pancreas-ct', root }));
    const { refs, problems } = await ds.scan();
    expect(problems.map((p) => p.file)).toEqual(expect.arrayContaining([join(root, 'labels', 'label0002.nii.gz'), join(root, 'Pancreas-CT', 'PANCREAS_0001', 'study', 'series', '1-009.dcm')]));
    // The unreadable 4th file is reported; the 3 readable images still match the 3 label slices.
    expect(refs.map((r) => [r.id, r.foregroundPixels, r.width, r.height])).toEqual([
      ['PANCREAS_0001_0000', 1, 6, 4],
      ['PANCREAS_0001_0001', 2, 6, 4],
      ['PANCREAS_0001_0002', 3, 6, 4],
    ]);
    expect(refs[0].source.image).toMatch(/1-002\.dcm$/); // z = 10 is the lowest
    expect(refs[0].spacing).toEqual([0.8, 0.7]);
    const pre = PreprocessingSchema.parse({ size: 16, augmentation: { enabled: false }, ctWindow: { mode: 'on', min: -100, max: 100 } });
    const s = await ds.load(refs[0], pre);
    // stored 1010 -> HU -14 -> (-14 + 100) / 200 = 0.43
    expect(s.image[5 * 16 + 5]).toBeCloseTo(0.43, 5);
    expect(s.meta.preprocessing?.ctWindow).toEqual([-100, 100]);
  });
});

describe('preprocessed-slice cache', () => {
  it('is keyed by the preprocessing hash, returns identical samples, and is refreshed when a file changes', async () => {
    const root = tempDir();
    await writeImage(join(root, 'images', 'p_1.png'), Uint8Array.from({ length: 100 }, (_, i) => i * 2), 10, 10);
    await writeImage(join(root, 'masks', 'p_1.png'), maskBytes(10, 10, (x, y) => x === y), 10, 10);
    const cacheDir = join(tempDir(), 'cache');
    const ds = openDataset(cfg({ format: 'folder', root }), { cacheDir });
    const [r] = await ds.list();
    const a = await ds.load(r, noPre);
    const other = PreprocessingSchema.parse({ size: 32, augmentation: { enabled: false } });
    await ds.load(r, other);
    expect(readdirSync(cacheDir).sort()).toEqual([a.meta.preprocessing!.configHash, (await ds.load(r, other)).meta.preprocessing!.configHash].sort());
    const b = await ds.load(r, noPre); // from the cache
    expect(b.image).toEqual(a.image);
    expect(b.mask).toEqual(a.mask);
    expect(b.meta).toEqual(a.meta);
    // Augmentation is applied after the cache, so it still varies with the seed.
    const aug = PreprocessingSchema.parse({ size: 16 });
    const x = await ds.load(r, aug, { augment: true, seed: 1 });
    const y = await ds.load(r, aug, { augment: true, seed: 1 });
    expect(x.image).toEqual(y.image);
    expect(x.meta.preprocessing!.augmentation.length).toBeGreaterThan(0);
    // A changed file gets a new key (size/mtime), not the stale entry.
    await writeImage(join(root, 'images', 'p_1.png'), new Uint8Array(100).fill(255), 10, 10);
    const c = await ds.load(r, noPre);
    expect(c.image[0]).toBeCloseTo(1, 6);
  });
});
