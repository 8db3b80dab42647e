/**
 * Minimal DICOM CT images for the predict tests (explicit VR little endian, signed 16-bit, with
 * position, orientation, spacing and series UID). @mrlseg/data's own tests have a fuller writer;
 * apps may not import another project's test files.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

function element(group: number, el: number, vr: string, value: Buffer): Buffer {
  const long = vr === 'OB' || vr === 'OW';
  const v = value.length % 2 ? Buffer.concat([value, Buffer.from([vr === 'UI' || long ? 0 : 0x20])]) : value;
  const head = Buffer.alloc(long ? 12 : 8);
  head.writeUInt16LE(group, 0);
  head.writeUInt16LE(el, 2);
  head.write(vr, 4, 'latin1');
  if (long) head.writeUInt32LE(v.length, 8);
  else head.writeUInt16LE(v.length, 6);
  return Buffer.concat([head, v]);
}
const us = (n: number) => Buffer.from(Uint16Array.of(n).buffer);
const str = (s: string) => Buffer.from(s, 'latin1');

export async function writeDicom(file: string, o: { rows: number; cols: number; instance: number; pixels: Int16Array; intercept: number; ipp: number[]; iop: number[]; pixelSpacing: [number, number]; seriesUid: string }): Promise<void> {
  const meta = Buffer.concat([element(0x0002, 0x0001, 'OB', Buffer.from([0, 1])), element(0x0002, 0x0010, 'UI', str('1.2.840.10008.1.2.1'))]);
  const body = Buffer.concat([
    element(0x0008, 0x0060, 'CS', str('CT')),
    element(0x0020, 0x000e, 'UI', str(o.seriesUid)),
    element(0x0020, 0x0013, 'IS', str(String(o.instance))),
    element(0x0020, 0x0032, 'DS', str(o.ipp.join('\\'))),
    element(0x0020, 0x0037, 'DS', str(o.iop.join('\\'))),
    element(0x0028, 0x0002, 'US', us(1)),
    element(0x0028, 0x0010, 'US', us(o.rows)),
    element(0x0028, 0x0011, 'US', us(o.cols)),
    element(0x0028, 0x0030, 'DS', str(o.pixelSpacing.join('\\'))),
    element(0x0028, 0x0100, 'US', us(16)),
    element(0x0028, 0x0101, 'US', us(16)),
    element(0x0028, 0x0103, 'US', us(1)),
    element(0x0028, 0x1052, 'DS', str(String(o.intercept))),
    element(0x0028, 0x1053, 'DS', str('1')),
    element(0x7fe0, 0x0010, 'OW', Buffer.from(o.pixels.buffer, o.pixels.byteOffset, o.pixels.byteLength)),
  ]);
  const glen = Buffer.alloc(4);
  glen.writeUInt32LE(meta.length, 0);
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, Buffer.concat([Buffer.alloc(128), str('DICM'), element(0x0002, 0x0000, 'UL', glen), meta, body]));
}
