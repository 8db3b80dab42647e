/**
 * Test fixture writers: tiny NIfTI-1 volumes (header by hand, gzip via node:zlib), PNG/JPEG/TIFF
 * via sharp, and minimal explicit-VR little-endian DICOM files. Reading always goes through the
 * package's loaders (nifti-reader-js, dicom-parser, sharp).
 */
import { mkdtempSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import sharp from 'sharp';

export const tempDir = (prefix = 'mrlseg-data-') => mkdtempSync(join(tmpdir(), prefix));

/**
 * Writes a NIfTI-1 volume of dims [nx, ny, nz] whose voxel (i, j, k) = value(i, j, k), stored
 * Fortran-order (i fastest), datatype uint8 (2), int16 (4) or uint16 (512).
 */
export async function writeNifti(
  file: string,
  dims: [number, number, number],
  value: (i: number, j: number, k: number) => number,
  opts: { datatype?: 2 | 4 | 512; spacing?: [number, number, number]; slope?: number; inter?: number; gzip?: boolean; bigEndian?: boolean } = {},
): Promise<Buffer> {
  const dt = opts.datatype ?? 2;
  const bpv = dt === 2 ? 1 : 2;
  const [nx, ny, nz] = dims;
  const be = opts.bigEndian === true;
  const hdr = Buffer.alloc(352);
  const i32 = (v: number, o: number) => (be ? hdr.writeInt32BE(v, o) : hdr.writeInt32LE(v, o));
  const i16 = (v: number, o: number) => (be ? hdr.writeInt16BE(v, o) : hdr.writeInt16LE(v, o));
  const f32 = (v: number, o: number) => (be ? hdr.writeFloatBE(v, o) : hdr.writeFloatLE(v, o));
  i32(348, 0);
  [3, nx, ny, nz, 1, 1, 1, 1].forEach((d, n) => i16(d, 40 + 2 * n));
  i16(dt, 70);
  i16(bpv * 8, 72);
  const sp = opts.spacing ?? [1, 1, 1];
  [1, sp[0], sp[1], sp[2], 0, 0, 0, 0].forEach((d, n) => f32(d, 76 + 4 * n));
  f32(352, 108);
  f32(opts.slope ?? 0, 112);
  f32(opts.inter ?? 0, 116);
  hdr.write('n+1\0', 344, 'latin1');
  const data = Buffer.alloc(nx * ny * nz * bpv);
  let o = 0;
  for (let k = 0; k < nz; k++)
    for (let j = 0; j < ny; j++)
      for (let i = 0; i < nx; i++, o += bpv) {
        const v = value(i, j, k);
        if (dt === 2) data.writeUInt8(v, o);
        else if (dt === 4) {
          if (be) data.writeInt16BE(v, o);
          else data.writeInt16LE(v, o);
        } else if (be) data.writeUInt16BE(v, o);
        else data.writeUInt16LE(v, o);
      }
  const raw = Buffer.concat([hdr, data]);
  const bytes = opts.gzip === false ? raw : gzipSync(raw);
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, bytes);
  return bytes;
}

/** Writes a grey (1 channel) or RGB (3 channels) image; format from the extension. */
export async function writeImage(file: string, data: Uint8Array, width: number, height: number, channels: 1 | 3 = 1): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  let img = sharp(Buffer.from(data), { raw: { width, height, channels } });
  if (/\.jpe?g$/i.test(file)) img = img.jpeg({ quality: 100 });
  else if (/\.tiff?$/i.test(file)) img = img.tiff();
  else img = img.png();
  await writeFile(file, await img.toBuffer());
}

/** A binary mask as 0/255 bytes with foreground where `fg(x, y)`. */
export function maskBytes(width: number, height: number, fg: (x: number, y: number) => boolean): Uint8Array {
  const out = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) out[y * width + x] = fg(x, y) ? 255 : 0;
  return out;
}

function element(group: number, el: number, vr: string, value: Buffer, implicit = false): Buffer {
  if (implicit) {
    const v = value.length % 2 ? Buffer.concat([value, Buffer.from([vr === 'UI' || vr === 'OB' || vr === 'OW' ? 0 : 0x20])]) : value;
    const head = Buffer.alloc(8);
    head.writeUInt16LE(group, 0);
    head.writeUInt16LE(el, 2);
    head.writeUInt32LE(v.length, 4);
    return Buffer.concat([head, v]);
  }
  const long = ['OB', 'OW', 'SQ', 'UN', 'UT'].includes(vr);
  const v = value.length % 2 ? Buffer.concat([value, Buffer.from([vr === 'UI' || vr === 'OB' || vr === 'OW' ? 0 : 0x20])]) : value;
  const head = Buffer.alloc(long ? 12 : 8);
  head.writeUInt16LE(group, 0);
  head.writeUInt16LE(el, 2);
  head.write(vr, 4, 'latin1');
  if (long) head.writeUInt32LE(v.length, 8);
  else head.writeUInt16LE(v.length, 6);
  return Buffer.concat([head, v]);
}
const us = (n: number) => {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(n, 0);
  return b;
};
const str = (s: string) => Buffer.from(s, 'latin1');

/**
 * Writes a minimal DICOM CT image (signed 16-bit) with stored values `pixels`: explicit VR little
 * endian, or implicit VR little endian with `implicit`. Position (0, 0, z) unless `ipp`; with
 * `iop` also ImageOrientationPatient; PixelSpacing `pixelSpacing` ([row, column], default 0.7\0.8).
 */
export async function writeDicom(
  file: string,
  o: { rows: number; cols: number; z: number; instance: number; pixels: Int16Array; slope?: number; intercept?: number; ipp?: number[]; iop?: number[]; pixelSpacing?: [number, number]; seriesUid?: string; implicit?: boolean },
): Promise<void> {
  const imp = o.implicit === true;
  const ts = element(0x0002, 0x0010, 'UI', str(imp ? '1.2.840.10008.1.2' : '1.2.840.10008.1.2.1'));
  const meta = Buffer.concat([element(0x0002, 0x0001, 'OB', Buffer.from([0, 1])), ts]);
  const glen = Buffer.alloc(4);
  glen.writeUInt32LE(meta.length, 0);
  const e = (g: number, n: number, vr: string, v: Buffer) => element(g, n, vr, v, imp);
  const ps = o.pixelSpacing ?? [0.7, 0.8];
  const body = Buffer.concat([
    e(0x0008, 0x0060, 'CS', str('CT')),
    ...(o.seriesUid ? [e(0x0020, 0x000e, 'UI', str(o.seriesUid))] : []),
    e(0x0020, 0x0013, 'IS', str(String(o.instance))),
    e(0x0020, 0x0032, 'DS', str((o.ipp ?? [0, 0, o.z]).join('\\'))),
    ...(o.iop ? [e(0x0020, 0x0037, 'DS', str(o.iop.join('\\')))] : []),
    e(0x0028, 0x0002, 'US', us(1)),
    e(0x0028, 0x0010, 'US', us(o.rows)),
    e(0x0028, 0x0011, 'US', us(o.cols)),
    e(0x0028, 0x0030, 'DS', str(`${ps[0]}\\${ps[1]}`)),
    e(0x0028, 0x0100, 'US', us(16)),
    e(0x0028, 0x0101, 'US', us(16)),
    e(0x0028, 0x0103, 'US', us(1)),
    e(0x0028, 0x1052, 'DS', str(String(o.intercept ?? -1024))),
    e(0x0028, 0x1053, 'DS', str(String(o.slope ?? 1))),
    e(0x7fe0, 0x0010, 'OW', Buffer.from(o.pixels.buffer, o.pixels.byteOffset, o.pixels.byteLength)),
  ]);
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, Buffer.concat([Buffer.alloc(128), str('DICM'), element(0x0002, 0x0000, 'UL', glen), meta, body]));
}
