/**
 * DICOM images and series, parsed with dicom-parser (uncompressed transfer syntaxes: implicit VR
 * little endian, explicit VR little and big endian). Pixels become Hounsfield units (stored value
 * x RescaleSlope + RescaleIntercept).
 *
 * A series folder becomes a volume with a NIfTI affine. Convention (DICOM PS3.3 C.7.6.2.1.1 for
 * the patient frame, NIfTI-1 for the world frame):
 * - voxel (i, j, k) is column i, row j of the k-th image, images ordered by the position of
 *   ImagePositionPatient (IPP) along the slice normal n = X x Y, where X = ImageOrientationPatient
 *   [0..2] (the direction of increasing column) and Y = [3..5] (increasing row); so the volume's
 *   file order (i fastest) is each image's own row-major pixel order, image after image;
 * - in DICOM's patient frame (LPS+: x to the patient's Left, y Posterior, z Superior) the voxel
 *   lies at IPP_0 + i Δc X + j Δr Y + k s, with PixelSpacing = [Δr, Δc] (row spacing first) and
 *   s = (IPP_last - IPP_0) / (n - 1) (for one image: n times SpacingBetweenSlices, else
 *   SliceThickness, else 1 mm);
 * - NIfTI's world frame is RAS+ (x Right, y Anterior, z Superior), so the affine is that LPS one
 *   with its first two rows negated: A = diag(-1, -1, 1, 1) · [Δc X | Δr Y | s | IPP_0].
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import dicomParser from 'dicom-parser';
import { geometryFromAffine, type Affine } from './affine';
import type { NiftiGeometry } from './nifti';
import { DataFileError } from './types';
import { mapLimit, naturalCompare, reasonOf } from './util';

const UNCOMPRESSED = new Set(['1.2.840.10008.1.2', '1.2.840.10008.1.2.1', '1.2.840.10008.1.2.2']);

type DataSet = ReturnType<typeof dicomParser.parseDicom>;

/** Parses DICOM bytes (to the pixel data when `untilPixels`); errors name the file. */
export function parseDicomFile(file: string, bytes: Uint8Array, untilPixels = false): DataSet {
  try {
    return dicomParser.parseDicom(bytes, untilPixels ? { untilTag: 'x7fe00010' } : {});
  } catch (e) {
    const msg = typeof e === 'string' ? e : (e as { exception?: string }).exception ?? reasonOf(e);
    throw new DataFileError(file, `unreadable DICOM (${msg})`);
  }
}

function huOf(file: string, bytes: Uint8Array, ds: DataSet): { hu: Float32Array; width: number; height: number } {
  const ts = ds.string('x00020010')?.replace(/\0/g, '').trim();
  if (ts && !UNCOMPRESSED.has(ts)) throw new DataFileError(file, `compressed DICOM transfer syntax ${ts} is not supported (convert to uncompressed)`);
  const rows = ds.uint16('x00280010') ?? 0;
  const cols = ds.uint16('x00280011') ?? 0;
  if (!rows || !cols) throw new DataFileError(file, 'DICOM without Rows/Columns (not an image)');
  const bits = ds.uint16('x00280100') ?? 16;
  const signed = ds.uint16('x00280103') === 1;
  const spp = ds.uint16('x00280002') ?? 1;
  const el = ds.elements.x7fe00010;
  if (!el) throw new DataFileError(file, 'DICOM without pixel data');
  if (spp !== 1) throw new DataFileError(file, `DICOM with ${spp} samples per pixel; CT must be monochrome`);
  if (bits !== 16 && bits !== 8) throw new DataFileError(file, `DICOM BitsAllocated ${bits} not supported (8 or 16)`);
  const n = rows * cols;
  if (el.length < n * (bits / 8) || el.dataOffset + n * (bits / 8) > bytes.length) throw new DataFileError(file, `truncated DICOM pixel data (${el.length} bytes for ${rows}x${cols}x${bits / 8})`);
  const slope = Number(ds.floatString('x00281053') ?? 1) || 1;
  const inter = Number(ds.floatString('x00281052') ?? 0) || 0;
  const dv = new DataView(bytes.buffer, bytes.byteOffset + el.dataOffset, n * (bits / 8));
  const le = ts !== '1.2.840.10008.1.2.2';
  const hu = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const v = bits === 8 ? (signed ? dv.getInt8(i) : dv.getUint8(i)) : signed ? dv.getInt16(i * 2, le) : dv.getUint16(i * 2, le);
    hu[i] = v * slope + inter;
  }
  return { hu, width: cols, height: rows };
}

/** Decodes one DICOM image to Hounsfield units (row-major rows x cols). */
export async function readDicomHu(file: string): Promise<{ hu: Float32Array; width: number; height: number }> {
  const bytes = await readFile(file);
  return huOf(file, bytes, parseDicomFile(file, bytes, false));
}

/** A DICOM series read as one volume (see the module comment for the affine's convention). */
export interface DicomSeries {
  dir: string;
  /** The images in slice order (k). */
  files: string[];
  /** [columns, rows, images]. */
  dims: [number, number, number];
  /** HU in file order: voxel (i, j, k) at i + nx (j + ny k). */
  volume: Float32Array;
  /** Voxel (i, j, k, 1) to RAS+ world (mm), 4 x 4. */
  affine: Affine;
  /** NIfTI header geometry holding `affine` (sform exact, qform its rotation). */
  geometry: NiftiGeometry;
  seriesUid: string | null;
}

const numbers = (s: string | undefined): number[] | undefined => (s === undefined ? undefined : s.split('\\').map((v) => Number(v.trim())));

/** Whether `bytes` start like a DICOM Part 10 file (128-byte preamble, then 'DICM'). */
export function isDicomBytes(bytes: Uint8Array): boolean {
  return bytes.length > 132 && bytes[128] === 0x44 && bytes[129] === 0x49 && bytes[130] === 0x43 && bytes[131] === 0x4d;
}

/**
 * Reads every DICOM file directly in `dir` (by the 'DICM' preamble, whatever the extension) as one
 * series and stacks it into a volume with its RAS+ affine. Throws a DataFileError naming the folder
 * (or file) when the folder holds no DICOM image, more than one series, images that differ in size
 * or orientation, lack ImagePositionPatient / ImageOrientationPatient / PixelSpacing, or are
 * unevenly spaced (more than 1 % off the mean spacing: a NIfTI affine cannot describe them).
 */
export async function readDicomSeries(dir: string): Promise<DicomSeries> {
  let names: string[];
  try {
    names = (await readdir(dir, { withFileTypes: true })).filter((e) => e.isFile()).map((e) => e.name).sort(naturalCompare);
  } catch (e) {
    throw new DataFileError(dir, `cannot list DICOM folder (${reasonOf(e)})`);
  }
  type Img = { file: string; ipp: number[]; iop: number[]; ps: number[]; rows: number; cols: number; uid: string | null; thickness: number | undefined; between: number | undefined; hu: Float32Array };
  const imgs: Img[] = [];
  await mapLimit(names, 4, async (name) => {
    const file = join(dir, name);
    const bytes = await readFile(file);
    if (!isDicomBytes(bytes)) return;
    const ds = parseDicomFile(file, bytes, false);
    const ipp = numbers(ds.string('x00200032'));
    const iop = numbers(ds.string('x00200037'));
    const ps = numbers(ds.string('x00280030'));
    if (!ipp || ipp.length !== 3 || !ipp.every(Number.isFinite)) throw new DataFileError(file, 'DICOM without a valid ImagePositionPatient (0020,0032): cannot place it in a volume');
    if (!iop || iop.length !== 6 || !iop.every(Number.isFinite)) throw new DataFileError(file, 'DICOM without a valid ImageOrientationPatient (0020,0037): cannot place it in a volume');
    if (!ps || ps.length !== 2 || !ps.every((v) => Number.isFinite(v) && v > 0)) throw new DataFileError(file, 'DICOM without a valid PixelSpacing (0028,0030)');
    const { hu, width, height } = huOf(file, bytes, ds);
    const num = (tag: string) => {
      const v = Number(ds.string(tag));
      return Number.isFinite(v) && v > 0 ? v : undefined;
    };
    imgs.push({ file, ipp, iop, ps, rows: height, cols: width, uid: ds.string('x0020000e')?.replace(/\0/g, '').trim() || null, thickness: num('x00180050'), between: num('x00180088'), hu });
  });
  if (imgs.length === 0) throw new DataFileError(dir, 'no DICOM images in the folder (files starting with the DICM preamble)');
  const uids = [...new Set(imgs.map((m) => m.uid))];
  if (uids.length > 1) throw new DataFileError(dir, `the folder holds ${uids.length} series (SeriesInstanceUID ${uids.join(', ')}); put each series in its own folder`);
  const first = imgs[0];
  for (const m of imgs) {
    if (m.rows !== first.rows || m.cols !== first.cols) throw new DataFileError(m.file, `image is ${m.cols}x${m.rows} but ${first.file} is ${first.cols}x${first.rows}; a series needs one size`);
    if (m.iop.some((v, n) => Math.abs(v - first.iop[n]) > 1e-4)) throw new DataFileError(m.file, `ImageOrientationPatient differs from ${first.file}; a series needs one orientation`);
    if (m.ps.some((v, n) => Math.abs(v - first.ps[n]) > 1e-6)) throw new DataFileError(m.file, `PixelSpacing differs from ${first.file}`);
  }
  const X = first.iop.slice(0, 3);
  const Y = first.iop.slice(3, 6);
  const N = [X[1] * Y[2] - X[2] * Y[1], X[2] * Y[0] - X[0] * Y[2], X[0] * Y[1] - X[1] * Y[0]];
  const along = (p: number[]) => p[0] * N[0] + p[1] * N[1] + p[2] * N[2];
  imgs.sort((a, b) => along(a.ipp) - along(b.ipp) || naturalCompare(a.file, b.file));
  const n = imgs.length;
  for (let k = 1; k < n; k++) if (Math.abs(along(imgs[k].ipp) - along(imgs[k - 1].ipp)) < 1e-6) throw new DataFileError(imgs[k].file, `same slice position as ${imgs[k - 1].file}: duplicate image?`);
  let step: number[];
  if (n > 1) {
    const a = imgs[0].ipp;
    const b = imgs[n - 1].ipp;
    step = [0, 1, 2].map((r) => (b[r] - a[r]) / (n - 1));
    const mean = Math.abs(along(b) - along(a)) / (n - 1);
    for (let k = 1; k < n; k++) {
      const gap = along(imgs[k].ipp) - along(imgs[k - 1].ipp);
      if (Math.abs(gap - mean) > 0.01 * mean) throw new DataFileError(dir, `uneven slice spacing: ${gap.toFixed(4)} mm between ${imgs[k - 1].file} and ${imgs[k].file}, ${mean.toFixed(4)} mm on average`);
    }
  } else {
    const s = first.between ?? first.thickness ?? 1;
    step = N.map((v) => v * s);
  }
  const [dr, dc] = first.ps;
  const lps = [0, 1, 2].map((r) => [X[r] * dc, Y[r] * dr, step[r], imgs[0].ipp[r]]);
  const affine: Affine = [lps[0].map((v) => -v), lps[1].map((v) => -v), lps[2], [0, 0, 0, 1]].map((row) => row.map((v) => (Object.is(v, -0) ? 0 : v)));
  const dims: [number, number, number] = [first.cols, first.rows, n];
  const per = first.cols * first.rows;
  const volume = new Float32Array(per * n);
  imgs.forEach((m, k) => volume.set(m.hu, k * per));
  return { dir, files: imgs.map((m) => m.file), dims, volume, affine, geometry: geometryFromAffine(affine, dims), seriesUid: uids[0] };
}
