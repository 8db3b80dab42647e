/**
 * NIfTI volumes read lazily: the header is parsed by nifti-reader-js from the first decompressed
 * bytes, the voxels are streamed through node:zlib once per pass, so a volume is never held in
 * memory whole — only the per-slice counts or the requested slices are kept.
 *
 * 2-D slices are cut along one axis. KiTS19 slices along the first axis (i): the slice's pixel
 * (row, col) is voxel (i, row, col), so width = dim[3] and height = dim[2]. Volumes stored with
 * the slice axis last (NIH Pancreas-CT labels) use axis 2: pixel (row, col) is voxel (col, row, k).
 */
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { promisify } from 'node:util';
import { createGunzip, gzip } from 'node:zlib';
import { readHeader, isNIFTI } from 'nifti-reader-js';
import { DataFileError } from './types';
import { reasonOf, writeFileAtomic } from './util';

export interface NiftiInfo {
  file: string;
  gz: boolean;
  littleEndian: boolean;
  /** Spatial sizes (dim[1], dim[2], dim[3]). */
  dims: [number, number, number];
  /** Voxel sizes in mm (pixdim[1..3]). */
  spacing: [number, number, number];
  datatype: number;
  bytesPerVoxel: number;
  voxOffset: number;
  /** Intensity scaling (identity when the header's slope is 0 or not finite). */
  slope: number;
  inter: number;
  /** The header's spatial geometry, as {@link writeNifti} writes it back. */
  geometry: NiftiGeometry;
}

/**
 * The spatial part of a NIfTI header, kept verbatim so a volume written with it has the same
 * shape and the same voxel-to-world affine in every reader (nibabel, ITK-SNAP, 3D Slicer):
 * dimensions, pixdim[0..3] (pixdim[0] = qfac), spatial units, the qform (code, quaternion b, c,
 * d and offset) and the sform (code and its three rows).
 */
export interface NiftiGeometry {
  dims: [number, number, number];
  /** pixdim[0..3] as stored: [qfac, dx, dy, dz] (readers take a qfac other than -1 as 1). */
  pixdim: [number, number, number, number];
  /** xyzt_units byte (2 = mm). */
  xyztUnits: number;
  qformCode: number;
  sformCode: number;
  /** quatern_b, quatern_c, quatern_d. */
  quatern: [number, number, number];
  /** qoffset_x, qoffset_y, qoffset_z. */
  qoffset: [number, number, number];
  /** srow_x, srow_y, srow_z (4 values each). */
  srow: [number[], number[], number[]];
}

export type SliceAxis = 0 | 2;

const DATATYPES: Record<number, { bytes: number; name: string }> = {
  2: { bytes: 1, name: 'uint8' },
  4: { bytes: 2, name: 'int16' },
  8: { bytes: 4, name: 'int32' },
  16: { bytes: 4, name: 'float32' },
  64: { bytes: 8, name: 'float64' },
  256: { bytes: 1, name: 'int8' },
  512: { bytes: 2, name: 'uint16' },
  768: { bytes: 4, name: 'uint32' },
};

function readerFor(datatype: number, le: boolean): (dv: DataView, off: number) => number {
  switch (datatype) {
    case 2: return (dv, o) => dv.getUint8(o);
    case 256: return (dv, o) => dv.getInt8(o);
    case 4: return (dv, o) => dv.getInt16(o, le);
    case 512: return (dv, o) => dv.getUint16(o, le);
    case 8: return (dv, o) => dv.getInt32(o, le);
    case 768: return (dv, o) => dv.getUint32(o, le);
    case 16: return (dv, o) => dv.getFloat32(o, le);
    case 64: return (dv, o) => dv.getFloat64(o, le);
    default: throw new Error(`unsupported NIfTI datatype ${datatype}`);
  }
}

function voxelStream(file: string, gz: boolean): NodeJS.ReadableStream {
  const raw = createReadStream(file, { highWaterMark: 1 << 16 });
  if (!gz) return raw;
  const z = createGunzip();
  raw.on('error', (e) => z.destroy(e));
  return raw.pipe(z);
}

/** Reads the first `n` decompressed bytes (or fewer when the file is shorter). */
async function headBytes(file: string, gz: boolean, n: number): Promise<Uint8Array> {
  const parts: Buffer[] = [];
  let got = 0;
  const s = voxelStream(file, gz);
  try {
    for await (const chunk of s as AsyncIterable<Buffer>) {
      parts.push(chunk);
      got += chunk.length;
      if (got >= n) break;
    }
  } finally {
    (s as unknown as { destroy?: () => void }).destroy?.();
  }
  return new Uint8Array(Buffer.concat(parts).subarray(0, n));
}

/** Parses a NIfTI-1/2 header (gzipped or not) with nifti-reader-js; errors name the file. */
export async function readNiftiInfo(file: string): Promise<NiftiInfo> {
  let gz: boolean;
  try {
    const fh = await open(file, 'r');
    try {
      const b = Buffer.alloc(2);
      await fh.read(b, 0, 2, 0);
      gz = b[0] === 0x1f && b[1] === 0x8b;
    } finally {
      await fh.close();
    }
  } catch (e) {
    throw new DataFileError(file, `cannot open NIfTI file (${reasonOf(e)})`);
  }
  let head: Uint8Array;
  try {
    head = await headBytes(file, gz, 1024);
  } catch (e) {
    throw new DataFileError(file, `unreadable NIfTI (${reasonOf(e)})`);
  }
  const ab = head.buffer.slice(head.byteOffset, head.byteOffset + head.byteLength) as ArrayBuffer;
  if (head.byteLength < 348 || !isNIFTI(ab)) throw new DataFileError(file, 'not a NIfTI file (no NIfTI-1/2 header magic)');
  let h;
  try {
    h = readHeader(ab);
  } catch (e) {
    throw new DataFileError(file, `unreadable NIfTI header (${reasonOf(e)})`);
  }
  const dt = DATATYPES[h.datatypeCode];
  if (!dt) throw new DataFileError(file, `unsupported NIfTI datatype code ${h.datatypeCode}`);
  const nd = h.dims[0];
  if (nd < 2 || nd > 7) throw new DataFileError(file, `NIfTI dim[0] must be 2..7, got ${nd}`);
  const dims: [number, number, number] = [h.dims[1], h.dims[2], nd >= 3 ? h.dims[3] : 1];
  if (dims.some((d) => !Number.isInteger(d) || d < 1)) throw new DataFileError(file, `NIfTI dims must be positive, got ${dims.join('x')}`);
  const slope = Number.isFinite(h.scl_slope) && h.scl_slope !== 0 ? h.scl_slope : 1;
  const inter = slope !== 1 || (Number.isFinite(h.scl_inter) && h.scl_slope !== 0) ? (Number.isFinite(h.scl_inter) ? h.scl_inter : 0) : 0;
  const pd = (k: number) => (Number.isFinite(h.pixDims[k]) && h.pixDims[k] > 0 ? h.pixDims[k] : 1);
  const f = (v: number) => (Number.isFinite(v) ? v : 0);
  // nifti-reader-js's affine holds the srow rows when sform_code > 0; without an sform the rows
  // are unused by readers, so keep whatever it derived (they are written back with code 0).
  const rows = [0, 1, 2].map((r) => [0, 1, 2, 3].map((c) => f(h.affine?.[r]?.[c] ?? 0))) as [number[], number[], number[]];
  const geometry: NiftiGeometry = {
    dims,
    pixdim: [f(h.pixDims[0]), f(h.pixDims[1]), nd >= 2 ? f(h.pixDims[2]) : 1, nd >= 3 ? f(h.pixDims[3]) : 1],
    xyztUnits: f(h.xyzt_units),
    qformCode: f(h.qform_code),
    sformCode: f(h.sform_code),
    quatern: [f(h.quatern_b), f(h.quatern_c), f(h.quatern_d)],
    qoffset: [f(h.qoffset_x), f(h.qoffset_y), f(h.qoffset_z)],
    srow: rows,
  };
  return {
    geometry,
    file,
    gz,
    littleEndian: h.littleEndian,
    dims,
    spacing: [pd(1), pd(2), pd(3)],
    datatype: h.datatypeCode,
    bytesPerVoxel: dt.bytes,
    voxOffset: Math.max(Math.round(h.vox_offset), 352),
    slope,
    inter,
  };
}

/** Width, height and slice count of 2-D slices cut along `axis`. */
export function sliceGeometry(info: NiftiInfo, axis: SliceAxis): { width: number; height: number; slices: number } {
  const [nx, ny, nz] = info.dims;
  return axis === 0 ? { width: nz, height: ny, slices: nx } : { width: nx, height: ny, slices: nz };
}

type TypedCtor = Uint8ArrayConstructor | Int8ArrayConstructor | Int16ArrayConstructor | Uint16ArrayConstructor | Int32ArrayConstructor | Uint32ArrayConstructor | Float32ArrayConstructor | Float64ArrayConstructor;
const CTORS: Record<number, TypedCtor> = { 2: Uint8Array, 256: Int8Array, 4: Int16Array, 512: Uint16Array, 8: Int32Array, 768: Uint32Array, 16: Float32Array, 64: Float64Array };
const HOST_LE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Streams the first 3-D volume's voxels once, in file order (i fastest), handing each decoded
 * chunk to `onChunk(values, count, firstVoxel)`. Values are raw (no scl_slope). Throws a
 * DataFileError naming the file when it is truncated or corrupt.
 */
async function streamValues(info: NiftiInfo, onChunk: (values: ArrayLike<number>, count: number, firstVoxel: number) => void): Promise<void> {
  const [nx, ny, nz] = info.dims;
  const total = nx * ny * nz;
  const bpv = info.bytesPerVoxel;
  const Ctor = CTORS[info.datatype];
  const read = readerFor(info.datatype, info.littleEndian);
  const native = info.littleEndian === HOST_LE;
  let pos = 0; // decompressed bytes seen
  let v = 0; // voxels delivered
  let carry = Buffer.alloc(0);
  const s = voxelStream(info.file, info.gz);
  try {
    for await (const chunk0 of s as AsyncIterable<Buffer>) {
      let chunk = chunk0;
      if (pos + chunk.length <= info.voxOffset) {
        pos += chunk.length;
        continue;
      }
      if (pos < info.voxOffset) {
        chunk = chunk.subarray(info.voxOffset - pos);
        pos = info.voxOffset;
      }
      pos += chunk.length;
      const buf = carry.length ? Buffer.concat([carry, chunk]) : chunk;
      const n = Math.min(Math.floor(buf.length / bpv), total - v);
      let values: ArrayLike<number>;
      if (native) {
        // Copy into an aligned buffer so the typed array can view it.
        const ab = new ArrayBuffer(n * bpv);
        new Uint8Array(ab).set(buf.subarray(0, n * bpv));
        values = new Ctor(ab);
      } else {
        const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
        const out = new Float64Array(n);
        for (let q = 0; q < n; q++) out[q] = read(dv, q * bpv);
        values = out;
      }
      onChunk(values, n, v);
      v += n;
      carry = Buffer.from(buf.subarray(n * bpv));
      if (v >= total) break;
    }
  } catch (e) {
    throw new DataFileError(info.file, `corrupt or truncated NIfTI (${reasonOf(e)})`);
  } finally {
    (s as unknown as { destroy?: () => void }).destroy?.();
  }
  if (v < total) {
    throw new DataFileError(info.file, `truncated NIfTI: ${v} of ${total} voxels (${info.dims.join('x')}) present`);
  }
}

/**
 * Streams every voxel once, calling `visit(slice, pixel, value)` with the slice index along
 * `axis` and the row-major pixel index in that slice (raw values).
 */
async function streamVoxels(info: NiftiInfo, axis: SliceAxis, visit: (slice: number, pixel: number, value: number) => void): Promise<void> {
  const [nx, ny, nz] = info.dims;
  await streamValues(info, (values, n, v0) => {
    let i = v0 % nx;
    let j = Math.floor(v0 / nx) % ny;
    let k = Math.floor(v0 / (nx * ny));
    for (let q = 0; q < n; q++) {
      if (axis === 0) visit(i, j * nz + k, values[q]);
      else visit(k, j * nx + i, values[q]);
      if (++i === nx) {
        i = 0;
        if (++j === ny) {
          j = 0;
          k++;
        }
      }
    }
  });
}

/**
 * Per-slice voxel counts of the given label values, one streaming pass.
 * @returns counts[slice][labelIndex] for `labels`.
 */
export async function countLabelsPerSlice(info: NiftiInfo, axis: SliceAxis, labels: number[]): Promise<number[][]> {
  const { slices } = sliceGeometry(info, axis);
  const counts = Array.from({ length: slices }, () => new Array<number>(labels.length).fill(0));
  const max = Math.max(...labels);
  const lut = new Int32Array(max + 1).fill(-1);
  labels.forEach((l, n) => {
    if (!Number.isInteger(l) || l < 0) throw new Error(`countLabelsPerSlice: labels must be non-negative integers, got ${l}`);
    lut[l] = n;
  });
  await streamVoxels(info, axis, (slice, _p, value) => {
    if (value > 0 && value <= max && Number.isInteger(value)) {
      const n = lut[value];
      if (n >= 0) counts[slice][n]++;
    } else if (value === 0 && lut[0] >= 0) counts[slice][lut[0]]++;
  });
  return counts;
}

/**
 * Extracts the requested slices (row-major height x width each) in one streaming pass; values
 * scaled by scl_slope/scl_inter when `scale` is true.
 */
export async function readSlices(info: NiftiInfo, axis: SliceAxis, wanted: number[], scale = true): Promise<Map<number, Float32Array>> {
  const { width, height, slices } = sliceGeometry(info, axis);
  for (const w of wanted) {
    if (!Number.isInteger(w) || w < 0 || w >= slices) throw new DataFileError(info.file, `slice ${w} outside 0..${slices - 1}`);
  }
  const out = new Map<number, Float32Array>();
  for (const w of wanted) out.set(w, new Float32Array(width * height));
  const slope = scale ? info.slope : 1;
  const inter = scale ? info.inter : 0;
  const targets: (Float32Array | undefined)[] = Array.from({ length: slices }, (_, n) => out.get(n));
  await streamVoxels(info, axis, (slice, pixel, value) => {
    const a = targets[slice];
    if (a) a[pixel] = value * slope + inter;
  });
  return out;
}

/** Per-slice count of voxels with value > `threshold`, one streaming pass (binary label volumes). */
export async function countAbovePerSlice(info: NiftiInfo, axis: SliceAxis, threshold = 0): Promise<number[]> {
  const { slices } = sliceGeometry(info, axis);
  const counts = new Array<number>(slices).fill(0);
  await streamVoxels(info, axis, (slice, _p, value) => {
    if (value > threshold) counts[slice]++;
  });
  return counts;
}

/**
 * The first 3-D volume's voxels, scaled by scl_slope/scl_inter, in file order (i fastest: voxel
 * (i, j, k) at i + nx (j + ny k)). Holds the whole volume (4 bytes a voxel).
 */
export async function readVolume(info: NiftiInfo): Promise<Float32Array> {
  const [nx, ny, nz] = info.dims;
  const out = new Float32Array(nx * ny * nz);
  const { slope, inter } = info;
  await streamValues(info, (values, n, v0) => {
    for (let q = 0; q < n; q++) out[v0 + q] = values[q] * slope + inter;
  });
  return out;
}

/**
 * Slice `index` along `axis` of a volume in file order (see {@link readVolume}), as a row-major
 * height x width image with the layout of {@link sliceGeometry}.
 */
export function volumeSlice(volume: ArrayLike<number>, dims: readonly [number, number, number], axis: SliceAxis, index: number): Float32Array {
  const [nx, ny, nz] = dims;
  if (volume.length !== nx * ny * nz) throw new RangeError(`volumeSlice: volume has ${volume.length} values, dims ${dims.join('x')} need ${nx * ny * nz}`);
  const slices = axis === 0 ? nx : nz;
  if (!Number.isInteger(index) || index < 0 || index >= slices) throw new RangeError(`volumeSlice: index must be an integer in 0..${slices - 1}, got ${index}`);
  if (axis === 0) {
    const out = new Float32Array(ny * nz);
    for (let j = 0; j < ny; j++) for (let k = 0; k < nz; k++) out[j * nz + k] = volume[index + nx * (j + ny * k)];
    return out;
  }
  const out = new Float32Array(nx * ny);
  const base = nx * ny * index;
  for (let p = 0; p < nx * ny; p++) out[p] = volume[base + p];
  return out;
}

/** Writes a 2-D slice (layout of {@link sliceGeometry}) into a volume in file order; the inverse of {@link volumeSlice}. */
export function setVolumeSlice(volume: { [n: number]: number; length: number }, dims: readonly [number, number, number], axis: SliceAxis, index: number, slice: ArrayLike<number>): void {
  const [nx, ny, nz] = dims;
  const per = axis === 0 ? ny * nz : nx * ny;
  if (volume.length !== nx * ny * nz) throw new RangeError(`setVolumeSlice: volume has ${volume.length} values, dims ${dims.join('x')} need ${nx * ny * nz}`);
  if (slice.length !== per) throw new RangeError(`setVolumeSlice: slice has ${slice.length} values, expected ${per}`);
  const slices = axis === 0 ? nx : nz;
  if (!Number.isInteger(index) || index < 0 || index >= slices) throw new RangeError(`setVolumeSlice: index must be an integer in 0..${slices - 1}, got ${index}`);
  if (axis === 0) {
    for (let j = 0; j < ny; j++) for (let k = 0; k < nz; k++) volume[index + nx * (j + ny * k)] = slice[j * nz + k];
  } else {
    const base = nx * ny * index;
    for (let p = 0; p < per; p++) volume[base + p] = slice[p];
  }
}

const gzipAsync = promisify(gzip);

/**
 * Writes a NIfTI-1 single file (`.nii`, or gzipped when the name ends in `.gz`) holding `data`
 * (uint8 -> datatype 2, float32 -> 16; file order, i fastest) with `geometry`'s dimensions,
 * pixdim, units, qform and sform, so readers report the same shape and affine as the volume the
 * geometry came from. scl_slope 1, scl_inter 0. Written to a temporary file beside `file` and
 * renamed, so `file` is either absent, the old file, or complete.
 */
export async function writeNifti(file: string, geometry: NiftiGeometry, data: Uint8Array | Float32Array, opts: { description?: string } = {}): Promise<void> {
  const g = geometry;
  const [nx, ny, nz] = g.dims;
  if (!g.dims.every((d) => Number.isInteger(d) && d > 0)) throw new RangeError(`writeNifti: geometry.dims must be positive integers, got ${g.dims.join('x')}`);
  if (data.length !== nx * ny * nz) throw new RangeError(`writeNifti: data has ${data.length} values, dims ${g.dims.join('x')} need ${nx * ny * nz}`);
  if (!(data instanceof Uint8Array) && !(data instanceof Float32Array)) throw new TypeError('writeNifti: data must be a Uint8Array or a Float32Array');
  const float = data instanceof Float32Array;
  const head = new ArrayBuffer(352);
  const dv = new DataView(head);
  const le = true;
  dv.setInt32(0, 348, le); // sizeof_hdr
  dv.setUint8(39, 0); // dim_info
  const dim = [3, nx, ny, nz, 1, 1, 1, 1];
  dim.forEach((v, n) => dv.setInt16(40 + 2 * n, v, le));
  dv.setInt16(70, float ? 16 : 2, le); // datatype
  dv.setInt16(72, float ? 32 : 8, le); // bitpix
  const pixdim = [g.pixdim[0], g.pixdim[1], g.pixdim[2], g.pixdim[3], 0, 0, 0, 0];
  pixdim.forEach((v, n) => dv.setFloat32(76 + 4 * n, v, le));
  dv.setFloat32(108, 352, le); // vox_offset
  dv.setFloat32(112, 1, le); // scl_slope
  dv.setFloat32(116, 0, le); // scl_inter
  dv.setUint8(123, g.xyztUnits & 0xff);
  if (!float) {
    let max = 0;
    for (let n = 0; n < data.length; n++) if (data[n] > max) max = data[n];
    dv.setFloat32(124, max, le); // cal_max
  }
  const desc = new TextEncoder().encode((opts.description ?? 'mrlseg').slice(0, 79));
  new Uint8Array(head, 148, 80).set(desc);
  dv.setInt16(252, g.qformCode, le);
  dv.setInt16(254, g.sformCode, le);
  [...g.quatern, ...g.qoffset].forEach((v, n) => dv.setFloat32(256 + 4 * n, v, le));
  g.srow.forEach((row, r) => row.forEach((v, c) => dv.setFloat32(280 + 16 * r + 4 * c, v, le)));
  new Uint8Array(head, 344, 4).set([0x6e, 0x2b, 0x31, 0]); // "n+1\0"; bytes 348-351: no extension
  let body: Uint8Array;
  if (float && !HOST_LE) {
    body = new Uint8Array(data.length * 4);
    const bv = new DataView(body.buffer);
    for (let n = 0; n < data.length; n++) bv.setFloat32(4 * n, data[n], true);
  } else body = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const raw = Buffer.concat([new Uint8Array(head), body]);
  const bytes = /\.gz$/i.test(file) ? await gzipAsync(raw, { level: 6 }) : raw;
  try {
    await writeFileAtomic(file, bytes);
  } catch (e) {
    throw new DataFileError(file, `cannot write NIfTI (${reasonOf(e)})`);
  }
}
