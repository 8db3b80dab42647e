/**
 * Image decoding for loaders, the metrics CLI and the API, through sharp (libvips): PNG, JPEG,
 * TIFF, WebP. Errors name the file and what went wrong; nothing is ever written next to the input.
 */
import { readFile } from 'node:fs/promises';
import sharp from 'sharp';

export interface GreyImage {
  width: number;
  height: number;
  /** Row-major H x W grey values 0..255 (RGB converted with Rec. 601 luma by libvips). */
  data: Uint8Array;
  /** Channels in the file before conversion (1 grey, 2 grey+alpha, 3 RGB, 4 RGBA). */
  channels: number;
}

export interface RgbImage {
  width: number;
  height: number;
  /** Row-major H x W x 3 values 0..255. */
  data: Uint8Array;
}

export class ImageDecodeError extends Error {
  constructor(readonly file: string, reason: string) {
    super(`cannot decode image '${file}': ${reason}`);
    this.name = 'ImageDecodeError';
  }
}

const reasonOf = (e: unknown) => (e instanceof Error ? e.message.split('\n')[0] : String(e));

async function load(src: string | Uint8Array, label: string): Promise<Buffer> {
  if (typeof src !== 'string') return Buffer.from(src.buffer, src.byteOffset, src.byteLength);
  try {
    return await readFile(src);
  } catch (e) {
    throw new ImageDecodeError(label, reasonOf(e));
  }
}

/** Decodes `src` (a path or the file's bytes) to 8-bit grey. */
export async function decodeGrey(src: string | Uint8Array, name?: string): Promise<GreyImage> {
  const label = name ?? (typeof src === 'string' ? src : '<buffer>');
  const buf = await load(src, label);
  try {
    const img = sharp(buf, { failOn: 'truncated' });
    const meta = await img.metadata();
    const { data, info } = await img.removeAlpha().greyscale().raw().toBuffer({ resolveWithObject: true });
    if (info.channels !== 1) throw new Error(`expected 1 channel after grey conversion, got ${info.channels}`);
    return { width: info.width, height: info.height, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), channels: meta.channels ?? 1 };
  } catch (e) {
    throw new ImageDecodeError(label, reasonOf(e));
  }
}

/** Decodes `src` to 8-bit RGB (grey files are expanded to three equal channels). */
export async function decodeRgb(src: string | Uint8Array, name?: string): Promise<RgbImage> {
  const label = name ?? (typeof src === 'string' ? src : '<buffer>');
  const buf = await load(src, label);
  try {
    const { data, info } = await sharp(buf, { failOn: 'truncated' }).removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new Error(`expected 3 channels, got ${info.channels}`);
    return { width: info.width, height: info.height, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
  } catch (e) {
    throw new ImageDecodeError(label, reasonOf(e));
  }
}

/** A binary mask, row-major H x W with 1 = foreground. */
export interface BinaryMask {
  width: number;
  height: number;
  data: Uint8Array;
}

/** Reads a mask image: any grey value > `threshold` (default 127) is foreground. */
export async function readBinaryMask(src: string | Uint8Array, threshold = 127, name?: string): Promise<BinaryMask> {
  if (!Number.isFinite(threshold) || threshold < 0 || threshold > 254) {
    throw new Error(`readBinaryMask: threshold must lie in [0, 254], got ${threshold}`);
  }
  const g = await decodeGrey(src, name);
  const out = new Uint8Array(g.data.length);
  for (let i = 0; i < out.length; i++) out[i] = g.data[i] > threshold ? 1 : 0;
  return { width: g.width, height: g.height, data: out };
}

/** Encodes a row-major H x W grey (or binary 0/1 when `binary`) buffer as PNG bytes. */
export async function encodeGreyPng(data: Uint8Array, width: number, height: number, opts: { binary?: boolean } = {}): Promise<Buffer> {
  if (data.length !== width * height) {
    throw new Error(`encodeGreyPng: data has ${data.length} values, expected width*height = ${width}*${height}`);
  }
  let px = data;
  if (opts.binary) {
    px = new Uint8Array(data.length); // a loop: TypedArray.from(data, fn) costs about a microsecond a pixel
    for (let i = 0; i < data.length; i++) px[i] = data[i] ? 255 : 0;
  }
  return sharp(Buffer.from(px.buffer, px.byteOffset, px.byteLength), { raw: { width, height, channels: 1 } }).png().toBuffer();
}
