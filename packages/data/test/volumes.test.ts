/**
 * Volumes for prediction: the NIfTI writer keeps a header's geometry (checked field by field and
 * through the affine), slices cut and put back along both axes, and DICOM series stacked into a
 * volume whose RAS+ affine is checked against one computed by hand for an oblique series with
 * non-square pixels (explicit and implicit VR files, shuffled names).
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { geometryFromAffine, niftiAffine, readDicomSeries, readNiftiInfo, readVolume, setVolumeSlice, volumeSlice, writeNifti, type NiftiGeometry } from '../src/index';
import { tempDir, writeDicom, writeNifti as writeFixtureNifti } from './fixtures';

const close = (a: number[][], b: number[][], tol: number) => a.forEach((row, r) => row.forEach((v, c) => expect(Math.abs(v - b[r][c]), `[${r}][${c}] ${v} vs ${b[r][c]}`).toBeLessThanOrEqual(tol)));

describe('writeNifti', () => {
  const geometry: NiftiGeometry = {
    dims: [3, 2, 4],
    pixdim: [-1, 0.75, 1.5, 2.5],
    xyztUnits: 10,
    qformCode: 1,
    sformCode: 2,
    quatern: [0.5, -0.5, 0.5],
    qoffset: [10.5, -20.25, 30],
    srow: [
      [0.75, 0, 0, -1],
      [0, 1.5, 0.25, -2],
      [0, 0, 2.5, -3],
    ],
  };

  it('writes uint8 and float32 volumes that read back with the same geometry and voxels', async () => {
    const dir = tempDir();
    const labels = Uint8Array.from({ length: 24 }, (_, n) => n % 3);
    const probs = Float32Array.from({ length: 24 }, (_, n) => n / 23);
    await writeNifti(join(dir, 'l.nii.gz'), geometry, labels);
    await writeNifti(join(dir, 'p.nii'), geometry, probs);
    const li = await readNiftiInfo(join(dir, 'l.nii.gz'));
    const pi = await readNiftiInfo(join(dir, 'p.nii'));
    expect(li.gz).toBe(true);
    expect([li.datatype, pi.datatype]).toEqual([2, 16]);
    expect(li.geometry).toEqual(geometry); // every value is exact in float32
    expect(pi.geometry).toEqual(geometry);
    expect(Array.from(await readVolume(li))).toEqual(Array.from(labels));
    expect(Array.from(await readVolume(pi))).toEqual(Array.from(probs));
    // Raw header: magic, vox_offset, dim[0], cal_max.
    const raw = gunzipSync(await readFile(join(dir, 'l.nii.gz')));
    expect(raw.toString('latin1', 344, 347)).toBe('n+1');
    expect(raw.readFloatLE(108)).toBe(352);
    expect(raw.readInt16LE(40)).toBe(3);
    expect(raw.readFloatLE(124)).toBe(2);
  });

  it('copies the geometry of a volume it read (affine unchanged) and leaves no temporary file', async () => {
    const dir = tempDir();
    const src = join(dir, 'src.nii');
    await writeNifti(src, geometry, new Uint8Array(24));
    const info = await readNiftiInfo(src);
    await writeNifti(join(dir, 'copy.nii'), info.geometry, new Uint8Array(24));
    expect(niftiAffine((await readNiftiInfo(join(dir, 'copy.nii'))).geometry)).toEqual(niftiAffine(geometry));
    expect((await import('node:fs')).readdirSync(dir).sort()).toEqual(['copy.nii', 'src.nii']);
  });

  it('rejects data that does not fit the dims', async () => {
    await expect(writeNifti(join(tempDir(), 'x.nii'), geometry, new Uint8Array(23))).rejects.toThrow(/writeNifti: data has 23 values, dims 3x2x4 need 24/);
  });
});

describe('volume slices', () => {
  it('cuts and puts back slices along axis 0 (pixel (row, col) = voxel (i, row, col)) and axis 2 (voxel (col, row, k))', async () => {
    const dir = tempDir();
    const f = join(dir, 'v.nii');
    await writeFixtureNifti(f, [2, 3, 4], (i, j, k) => 100 * i + 10 * j + k, { datatype: 4, gzip: false });
    const info = await readNiftiInfo(f);
    const vol = await readVolume(info);
    expect(Array.from(volumeSlice(vol, info.dims, 0, 1))).toEqual([100, 101, 102, 103, 110, 111, 112, 113, 120, 121, 122, 123]);
    expect(Array.from(volumeSlice(vol, info.dims, 2, 3))).toEqual([3, 103, 13, 113, 23, 123]);
    const back = new Float32Array(vol.length);
    for (let i = 0; i < 2; i++) setVolumeSlice(back, info.dims, 0, i, volumeSlice(vol, info.dims, 0, i));
    expect(back).toEqual(vol);
    expect(() => volumeSlice(vol, info.dims, 2, 4)).toThrow(/volumeSlice: index must be an integer in 0..3, got 4/);
  });
});

describe('geometryFromAffine', () => {
  it('holds the affine in the sform and, for a rigid affine with a flip, in the qform too', () => {
    const A = [
      [0, 0, -2, 5],
      [0, -0.5, 0, 6],
      [-3, 0, 0, 7],
      [0, 0, 0, 1],
    ];
    const g = geometryFromAffine(A, [4, 5, 6]);
    expect(g.pixdim.slice(1)).toEqual([3, 0.5, 2]);
    expect(niftiAffine(g)).toEqual(A);
    close(niftiAffine({ ...g, sformCode: 0 }), A, 1e-12);
  });
});

describe('readDicomSeries', () => {
  // X (increasing column) = (0.6, 0.8, 0), Y (increasing row) = (0, 0, -1): an oblique plane.
  // Normal n = X x Y = (-0.8, 0.6, 0); PixelSpacing [row 2, column 0.5]; slices 3 mm apart along n.
  const X = [0.6, 0.8, 0];
  const Y = [0, 0, -1];
  const first = [10, 20, 30];
  const ipp = (k: number) => [first[0] - 2.4 * k, first[1] + 1.8 * k, first[2]];
  // Hand-computed: LPS columns 0.5 X = (0.3, 0.4, 0), 2 Y = (0, 0, -2), 3 n = (-2.4, 1.8, 0),
  // offset (10, 20, 30); RAS negates the first two rows.
  const expected = [
    [-0.3, 0, 2.4, -10],
    [-0.4, 0, -1.8, -20],
    [0, -2, 0, 30],
    [0, 0, 0, 1],
  ];
  const rows = 2;
  const cols = 3;

  async function series(implicit: boolean): Promise<string> {
    const dir = tempDir('mrlseg-dicom-');
    // File names and instance numbers in the reverse of the spatial order.
    for (const k of [0, 1, 2, 3]) {
      const pixels = Int16Array.from({ length: rows * cols }, (_, p) => 100 * k + p);
      await writeDicom(join(dir, `img${3 - k}.dcm`), { rows, cols, z: 0, instance: 4 - k, pixels, intercept: -1000, ipp: ipp(k), iop: [...X, ...Y], pixelSpacing: [2, 0.5], seriesUid: '1.2.3', implicit });
    }
    await writeFile(join(dir, 'notes.txt'), 'not DICOM');
    return dir;
  }

  it.each([false, true])('stacks an oblique, non-square-pixel series by position (implicit VR: %s) with the hand-computed RAS+ affine', async (implicit) => {
    const s = await readDicomSeries(await series(implicit));
    expect(s.dims).toEqual([cols, rows, 4]);
    close(s.affine, expected, 1e-12);
    expect(s.files.map((f) => f.split('/').pop())).toEqual(['img3.dcm', 'img2.dcm', 'img1.dcm', 'img0.dcm']);
    // voxel (i, j, k) = column i, row j of the k-th image: stored 100 k + (j cols + i), HU = stored - 1000.
    expect(s.volume[2 + cols * (1 + rows * 3)]).toBe(100 * 3 + (1 * cols + 2) - 1000);
    expect(s.seriesUid).toBe('1.2.3');
    // The header holds it: sform exactly, qform to float precision (its columns are orthogonal).
    close(niftiAffine(s.geometry), expected, 1e-12);
    close(niftiAffine({ ...s.geometry, sformCode: 0 }), expected, 1e-9);
    expect(s.geometry.pixdim.slice(1).map((v) => +v.toFixed(9))).toEqual([0.5, 2, 3]);
  });

  it('written as NIfTI, reads back with the affine to float32 precision', async () => {
    const s = await readDicomSeries(await series(false));
    const f = join(tempDir(), 's.nii.gz');
    await writeNifti(f, s.geometry, new Uint8Array(s.volume.length));
    const g = (await readNiftiInfo(f)).geometry;
    close(niftiAffine(g), expected, 1e-5);
    close(niftiAffine({ ...g, sformCode: 0 }), expected, 1e-5);
  });

  it('names the folder or file when a series cannot be stacked', async () => {
    const empty = tempDir();
    await expect(readDicomSeries(empty)).rejects.toThrow(/no DICOM images in the folder/);
    const dir = await series(false);
    await writeDicom(join(dir, 'other.dcm'), { rows, cols, z: 0, instance: 9, pixels: new Int16Array(rows * cols), ipp: ipp(9), iop: [...X, ...Y], seriesUid: '9.9' });
    await expect(readDicomSeries(dir)).rejects.toThrow(/holds 2 series \(SeriesInstanceUID 1\.2\.3, 9\.9\)|holds 2 series \(SeriesInstanceUID 9\.9, 1\.2\.3\)/);
    const uneven = await series(false);
    await writeDicom(join(uneven, 'img0.dcm'), { rows, cols, z: 0, instance: 1, pixels: new Int16Array(rows * cols), ipp: ipp(5), iop: [...X, ...Y], pixelSpacing: [2, 0.5], seriesUid: '1.2.3' });
    await expect(readDicomSeries(uneven)).rejects.toThrow(/uneven slice spacing/);
    const noIop = tempDir();
    await writeDicom(join(noIop, 'a.dcm'), { rows, cols, z: 0, instance: 1, pixels: new Int16Array(rows * cols) });
    await expect(readDicomSeries(noIop)).rejects.toThrow(/a\.dcm.*ImageOrientationPatient/);
  });
});
