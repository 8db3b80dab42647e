/**
 * Browser decoding of the API's PNGs (image, masks) and of uploaded files into grey arrays, via
 * createImageBitmap and a 2-D canvas (no decoder library needed in the browser).
 */
import type { GreyImage } from './overlay';

function canvas(width: number, height: number): HTMLCanvasElement {
  const c = document.createElement('canvas');
  c.width = width;
  c.height = height;
  return c;
}

/** Grey values (ITU-R BT.601 luma of RGB; masks and grey PNGs give their value back). */
export async function decodeToGrey(data: Blob | ArrayBuffer, what = 'image'): Promise<GreyImage> {
  const blob = data instanceof Blob ? data : new Blob([data]);
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(blob);
  } catch (err) {
    throw new Error(`${what}: not a decodable image (${(err as Error).message ?? err})`, { cause: err });
  }
  const c = canvas(bitmap.width, bitmap.height);
  const ctx = c.getContext('2d', { willReadFrequently: true });
  if (!ctx) throw new Error('this browser has no 2-D canvas');
  ctx.drawImage(bitmap, 0, 0);
  bitmap.close();
  const { data: rgba } = ctx.getImageData(0, 0, c.width, c.height);
  const out = new Uint8ClampedArray(c.width * c.height);
  for (let p = 0; p < out.length; p++) {
    out[p] = Math.round(0.299 * rgba[p * 4] + 0.587 * rgba[p * 4 + 1] + 0.114 * rgba[p * 4 + 2]);
  }
  return { width: c.width, height: c.height, data: out };
}

/** Draws RGBA pixels into a canvas element, resizing the element to the pixel size. */
export function paint(target: HTMLCanvasElement, rgba: Uint8ClampedArray, width: number, height: number): void {
  target.width = width;
  target.height = height;
  const ctx = target.getContext('2d');
  if (!ctx) return;
  ctx.putImageData(new ImageData(new Uint8ClampedArray(rgba), width, height), 0, 0);
}

/** Grey -> opaque RGBA. */
export function greyToRgba(img: GreyImage): Uint8ClampedArray {
  const rgba = new Uint8ClampedArray(img.width * img.height * 4);
  for (let p = 0; p < img.width * img.height; p++) rgba.set([img.data[p], img.data[p], img.data[p], 255], p * 4);
  return rgba;
}
