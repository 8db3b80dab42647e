/** Test images as PNG/JPEG bytes, made with sharp through @mrlseg/data's encoder. */
import sharp from 'sharp';
import { encodeGreyPng } from '@mrlseg/data';

/** A W x H grey image whose pixel (x, y) is `f(x, y)` (0..255). */
export function greyPixels(width: number, height: number, f: (x: number, y: number) => number): Uint8Array {
  const out = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) out[y * width + x] = f(x, y);
  return out;
}

export const png = (data: Uint8Array, width: number, height: number) => encodeGreyPng(data, width, height);

export async function jpeg(data: Uint8Array, width: number, height: number): Promise<Buffer> {
  return sharp(Buffer.from(data), { raw: { width, height, channels: 1 } }).jpeg({ quality: 95 }).toBuffer();
}

export async function rgbPng(width: number, height: number, rgb: [number, number, number]): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: { r: rgb[0], g: rgb[1], b: rgb[2] } } }).png().toBuffer();
}

/** Decodes a PNG response to { width, height, data } with 0/1 values (255 -> 1). */
export async function decodeMaskPng(bytes: Buffer): Promise<{ width: number; height: number; data: Uint8Array }> {
  const { data, info } = await sharp(bytes).greyscale().raw().toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, data: Uint8Array.from(data, (v) => (v > 127 ? 1 : 0)) };
}
