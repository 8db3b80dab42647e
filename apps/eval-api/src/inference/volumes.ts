/**
 * DICOM images and NIfTI volumes as segment uploads, decoded by @mrlseg/data (readDicomHu,
 * readNiftiInfo + readSlices, which read files): the upload is written to a private temporary
 * folder, decoded, and the folder removed. Values in HU go through the CT window the caller
 * passes (the model's, from its metadata; applyCtWindow to [0, 255]) or, with none, the slice's
 * own min..max.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { applyCtWindow, DataFileError, readDicomHu, readNiftiInfo, readSlices, sliceGeometry, type SliceAxis } from '@mrlseg/data';
import { HttpError } from '../errors';

export type VolumeKind = 'dicom' | 'nifti';

/** The paper's CT window (Section IV), as in the experiment config's preprocessing.ctWindow defaults. */
export const CT_WINDOW: readonly [number, number] = [-79, 304];

/** DICOM (preamble + 'DICM'), NIfTI-1 single file (sizeof_hdr 348, magic n+1) or gzip (a .nii.gz candidate). */
export function sniffVolume(b: Uint8Array): VolumeKind | null {
  if (b.length > 132 && b[128] === 0x44 && b[129] === 0x49 && b[130] === 0x43 && b[131] === 0x4d) return 'dicom';
  if (b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b) return 'nifti';
  if (b.length >= 352) {
    const le = b[0] === 0x5c && b[1] === 0x01 && b[2] === 0 && b[3] === 0;
    const be = b[0] === 0 && b[1] === 0 && b[2] === 0x01 && b[3] === 0x5c;
    const magic = b[344] === 0x6e && b[345] === 0x2b && b[346] === 0x31 && b[347] === 0;
    if ((le || be) && magic) return 'nifti';
  }
  return null;
}

export interface VolumeSliceOptions {
  /** NIfTI: slice index (default: middle). */
  slice?: number;
  axis: SliceAxis;
  /** CT window [min, max] in HU mapped to [0, 255]; null: the slice's own min..max. */
  ctWindow: readonly [number, number] | null;
  maxPixels: number;
}

/** Maps HU (or any values) to 8-bit grey: the CT window, or the slice's own range. */
function toGrey(values: Float32Array, window: readonly [number, number] | null): Uint8Array {
  const out = new Uint8Array(values.length);
  if (window) {
    const w = applyCtWindow(values, window[0], window[1]);
    for (let i = 0; i < w.length; i++) out[i] = Math.round(w[i]);
    return out;
  }
  let lo = Infinity;
  let hi = -Infinity;
  for (const x of values) {
    if (x < lo) lo = x;
    if (x > hi) hi = x;
  }
  const k = hi > lo ? 255 / (hi - lo) : 0;
  for (let i = 0; i < values.length; i++) out[i] = Math.round((values[i] - lo) * k);
  return out;
}

/** Decodes one 2-D slice of an uploaded DICOM/NIfTI file to grey (400 when unreadable, 413 when too large). */
export async function decodeVolumeSlice(bytes: Uint8Array, kind: VolumeKind, field: string, o: VolumeSliceOptions): Promise<{ width: number; height: number; grey: Uint8Array; slice: number | null }> {
  const dir = await mkdtemp(join(tmpdir(), 'mrlseg-api-upload-'));
  const file = join(dir, kind === 'dicom' ? 'upload.dcm' : bytes[0] === 0x1f ? 'upload.nii.gz' : 'upload.nii');
  try {
    await writeFile(file, bytes);
    if (kind === 'dicom') {
      const { hu, width, height } = await readDicomHu(file);
      if (width * height > o.maxPixels) throw new HttpError(413, 'image_too_large', `field '${field}': ${width} x ${height} pixels exceeds the limit of ${o.maxPixels} pixels`);
      if (!(width > 0 && height > 0)) throw new HttpError(400, 'bad_image', `field '${field}': DICOM image has no size`);
      return { width, height, grey: toGrey(hu, o.ctWindow), slice: null };
    }
    const info = await readNiftiInfo(file);
    const { width, height, slices } = sliceGeometry(info, o.axis);
    if (width * height > o.maxPixels) throw new HttpError(413, 'image_too_large', `field '${field}': ${width} x ${height} pixel slices exceed the limit of ${o.maxPixels} pixels`);
    const k = o.slice ?? Math.floor(slices / 2);
    if (k >= slices) throw new HttpError(400, 'bad_slice', `field '${field}': slice ${k} outside 0..${slices - 1} along axis ${o.axis}`);
    const values = (await readSlices(info, o.axis, [k])).get(k)!;
    return { width, height, grey: toGrey(values, o.ctWindow), slice: k };
  } catch (e) {
    if (e instanceof HttpError) throw e;
    // Whatever the decoders reject here comes from the client's bytes: a 400 naming the field.
    const what = kind === 'dicom' ? 'DICOM upload' : 'NIfTI upload';
    const msg = e instanceof DataFileError || e instanceof Error ? e.message.split(file).join(what) : String(e);
    throw new HttpError(400, 'bad_image', `field '${field}': ${msg}`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
