/**
 * Minimal DICOM and NIfTI-1 writers for upload tests, from the standards: DICOM PS3.5 (explicit
 * VR little endian, 128-byte preamble + "DICM", group 0002 meta header) and the NIfTI-1 header
 * (348 bytes, vox_offset 352, magic "n+1").
 */
import { gzipSync } from 'node:zlib';

function element(group: number, el: number, vr: string, value: Buffer): Buffer {
  const v = value.length % 2 ? Buffer.concat([value, Buffer.from([vr === 'UI' ? 0 : 0x20])]) : value;
  const long = ['OB', 'OW', 'OF', 'SQ', 'UT', 'UN'].includes(vr);
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

/** A monochrome signed 16-bit CT DICOM whose HU = stored value * 1 - 1024. */
export function dicomBytes(width: number, height: number, hu: (x: number, y: number) => number): Buffer {
  const px = new Int16Array(width * height);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) px[y * width + x] = hu(x, y) + 1024;
  const meta = Buffer.concat([element(0x0002, 0x0001, 'OB', Buffer.from([0, 1])), element(0x0002, 0x0010, 'UI', str('1.2.840.10008.1.2.1'))]);
  const glen = Buffer.alloc(4);
  glen.writeUInt32LE(meta.length, 0);
  const body = Buffer.concat([
    element(0x0008, 0x0060, 'CS', str('CT')),
    element(0x0028, 0x0002, 'US', us(1)),
    element(0x0028, 0x0010, 'US', us(height)),
    element(0x0028, 0x0011, 'US', us(width)),
    element(0x0028, 0x0100, 'US', us(16)),
    element(0x0028, 0x0101, 'US', us(16)),
    element(0x0028, 0x0103, 'US', us(1)),
    element(0x0028, 0x1052, 'DS', str('-1024')),
    element(0x0028, 0x1053, 'DS', str('1')),
    element(0x7fe0, 0x0010, 'OW', Buffer.from(px.buffer, px.byteOffset, px.byteLength)),
  ]);
  return Buffer.concat([Buffer.alloc(128), str('DICM'), element(0x0002, 0x0000, 'UL', glen), meta, body]);
}

/** A NIfTI-1 int16 volume nx x ny x nz with voxel (i, j, k) = value(i, j, k), optionally gzipped. */
export function niftiBytes(dims: [number, number, number], value: (i: number, j: number, k: number) => number, gzip = false): Buffer {
  const [nx, ny, nz] = dims;
  const hdr = Buffer.alloc(352);
  hdr.writeInt32LE(348, 0);
  [3, nx, ny, nz, 1, 1, 1, 1].forEach((d, n) => hdr.writeInt16LE(d, 40 + 2 * n));
  hdr.writeInt16LE(4, 70); // datatype: int16
  hdr.writeInt16LE(16, 72);
  [1, 1, 1, 1, 0, 0, 0, 0].forEach((d, n) => hdr.writeFloatLE(d, 76 + 4 * n));
  hdr.writeFloatLE(352, 108);
  hdr.write('n+1\0', 344, 'latin1');
  const data = Buffer.alloc(nx * ny * nz * 2);
  let o = 0;
  for (let k = 0; k < nz; k++) for (let j = 0; j < ny; j++) for (let i = 0; i < nx; i++, o += 2) data.writeInt16LE(value(i, j, k), o);
  const raw = Buffer.concat([hdr, data]);
  return gzip ? gzipSync(raw) : raw;
}
