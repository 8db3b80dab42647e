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
import { createGunzip } from 'node:zlib';
import { readHeader, isNIFTI } from 'nifti-reader-js';
import { DataFileError } from './types';
import { reasonOf } from './util';

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
  return {
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
