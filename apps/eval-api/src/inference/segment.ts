/**
 * One segmentation request, end to end: sniff and decode the upload (sharp, through
 * decodeGrey of @mrlseg/data), preprocess like training (grey, bilinear resize to the model's
 * input size, scale to [0, 1] as the model's metadata says), run the ONNX session through the bounded queue, threshold the
 * foreground probability, and resize the mask (and the RL action mask) back to the input's size
 * by nearest neighbour.
 */
import sharp from 'sharp';
import { decodeGrey, resizeBilinear, resizeNearest } from '@mrlseg/data';
import { HttpError, unsupportedMedia } from '../errors';
import type { LoadedModel, Layout } from './models';
import type { InferenceQueue } from './queue';
import type { OutputTensor } from './worker-pool';
import { decodeVolumeSlice, sniffVolume, type VolumeKind, type VolumeSliceOptions } from './volumes';

export type ImageKind = 'png' | 'jpeg';

/** Recognises the formats the API decodes from their magic bytes (never from the client's file name or type). */
export function sniffImage(bytes: Uint8Array): ImageKind | null {
  if (bytes.length >= 8 && bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47 && bytes[4] === 0x0d && bytes[5] === 0x0a && bytes[6] === 0x1a && bytes[7] === 0x0a) return 'png';
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'jpeg';
  return null;
}

export interface DecodedUpload {
  kind: ImageKind | VolumeKind;
  width: number;
  height: number;
  /** Row-major H x W grey values 0..255. */
  grey: Uint8Array;
}

/**
 * Checks an upload before decoding it: not a PNG/JPEG -> 415; a header announcing more than
 * `maxPixels` pixels (a decompression bomb) -> 413; an unreadable header -> 400.
 */
export async function checkUpload(bytes: Uint8Array, field: string, maxPixels: number): Promise<{ kind: ImageKind; width: number; height: number }> {
  const kind = sniffImage(bytes);
  if (!kind) throw unsupportedMedia(`field '${field}' is not a PNG or JPEG image${sniffVolume(bytes) ? ' (DICOM and NIfTI are accepted by /segment only)' : ''}`);
  let meta: sharp.Metadata;
  try {
    meta = await sharp(bytes).metadata();
  } catch (e) {
    throw new HttpError(400, 'bad_image', `field '${field}': cannot read the ${kind.toUpperCase()} header: ${(e as Error).message.split('\n')[0]}`);
  }
  const w = meta.width ?? 0;
  const h = meta.height ?? 0;
  if (!(w > 0 && h > 0)) throw new HttpError(400, 'bad_image', `field '${field}': image has no size`);
  if (w * h > maxPixels) throw new HttpError(413, 'image_too_large', `field '${field}': ${w} x ${h} pixels exceeds the limit of ${maxPixels} pixels`);
  return { kind, width: w, height: h };
}

/** Checks (see checkUpload) and decodes an uploaded image to grey; a corrupt body -> 400 (ImageDecodeError). */
export async function decodeUpload(bytes: Uint8Array, field: string, maxPixels: number): Promise<DecodedUpload> {
  const { kind } = await checkUpload(bytes, field, maxPixels);
  const g = await decodeGrey(bytes, field);
  return { kind, width: g.width, height: g.height, grey: g.data };
}

/**
 * Decodes a segment upload: PNG/JPEG through sharp, or one slice of a DICOM/NIfTI file through
 * the data package (see volumes.ts); anything else -> 415.
 */
export async function decodeSegmentUpload(bytes: Uint8Array, field: string, o: VolumeSliceOptions): Promise<DecodedUpload & { slice: number | null }> {
  const volume = sniffVolume(bytes);
  if (volume) return { kind: volume, ...(await decodeVolumeSlice(bytes, volume, field, o)) };
  if (!sniffImage(bytes)) throw unsupportedMedia(`field '${field}' is not a PNG, JPEG, DICOM or NIfTI image`);
  return { ...(await decodeUpload(bytes, field, o.maxPixels)), slice: null };
}

/**
 * The model's input tensor: grey bilinearly resized to the model's size, then grey x
 * intensityScale + intensityOffset clamped to [0, 1] (the model's metadata; grey / 255 without).
 */
export function toInputTensor(
  img: { width: number; height: number; grey: Uint8Array },
  model: Pick<LoadedModel, 'width' | 'height' | 'layout'> & { metadata?: Pick<LoadedModel['metadata'], 'intensityScale' | 'intensityOffset'> },
): { data: Float32Array; dims: number[] } {
  const src = Float32Array.from(img.grey);
  const resized = resizeBilinear(src, img.width, img.height, model.width, model.height);
  const scale = model.metadata?.intensityScale ?? 1 / 255;
  const offset = model.metadata?.intensityOffset ?? 0;
  for (let i = 0; i < resized.length; i++) {
    const v = resized[i] * scale + offset;
    resized[i] = v < 0 ? 0 : v > 1 ? 1 : v;
  }
  const dims = model.layout === 'NHWC' ? [1, model.height, model.width, 1] : [1, 1, model.height, model.width];
  return { data: resized, dims };
}

/**
 * One H x W plane of a batch-1 output: channel `channel` (negative counts from the end) of
 * N x H x W x C (NHWC) or N x C x H x W / N x C x H x W x 1 (channel-major).
 */
export function outputPlane(t: OutputTensor, layout: Layout, channel: number, what: string): { data: Float32Array; width: number; height: number; channels: number } {
  const d = t.dims;
  let h: number, w: number, c: number, interleaved: boolean;
  if (d.length === 4 && layout === 'NHWC') [h, w, c, interleaved] = [d[1], d[2], d[3], true];
  else if (d.length === 4) [c, h, w, interleaved] = [d[1], d[2], d[3], false];
  else if (d.length === 5 && d[4] === 1) [c, h, w, interleaved] = [d[1], d[2], d[3], false];
  else if (d.length === 3) [c, h, w, interleaved] = [1, d[1], d[2], false];
  else throw new Error(`${what}: unexpected output shape [${d.join(', ')}]`);
  if (d[0] !== 1) throw new Error(`${what}: expected batch 1, got shape [${d.join(', ')}]`);
  const k = channel < 0 ? c + channel : channel;
  if (k < 0 || k >= c) throw new Error(`${what}: channel ${channel} out of range for shape [${d.join(', ')}]`);
  const src = t.data;
  const out = new Float32Array(h * w);
  for (let i = 0; i < h * w; i++) out[i] = Number(interleaved ? src[i * c + k] : src[k * h * w + i]);
  return { data: out, width: w, height: h, channels: c };
}

export interface SegmentOutput {
  width: number;
  height: number;
  /** Row-major H x W, 1 = foreground, at the input's size. */
  mask: Uint8Array;
  foregroundPixels: number;
  /** The policy's action map at the input's size (1 = masked at some step, 0 = retained), when the model has one. */
  actions: { masked: Uint8Array; steps: number } | null;
  timings: { decodeMs: number; queueMs: number; inferenceMs: number; postprocessMs: number; totalMs: number };
}

/**
 * Segments decoded grey pixels with `model`; the run is admitted through `queue`. `decodeMs`
 * (time already spent decoding the upload) is added to the reported decode and total times.
 */
export async function segment(img: DecodedUpload, model: LoadedModel, queue: InferenceQueue, threshold: number, decodeMs = 0): Promise<SegmentOutput> {
  const t0 = performance.now();
  const feed = toInputTensor(img, model);
  const tDecoded = performance.now();
  const fetches = model.actionsName ? [model.probabilitiesName, model.actionsName] : [model.probabilitiesName];
  const { value: ran, queueMs } = await queue.run(() => model.run(feed.data, feed.dims, fetches));
  const value = { out: ran.outputs, inferenceMs: ran.inferenceMs };
  const tPost = performance.now();
  const prob = outputPlane(value.out[model.probabilitiesName], model.layout, -1, `model '${model.key}' output '${model.probabilitiesName}'`);
  if (prob.channels > 2) throw new Error(`model '${model.key}': probabilities must have 1 or 2 channels, got ${prob.channels}`);
  const small = new Uint8Array(prob.data.length);
  for (let i = 0; i < small.length; i++) small[i] = prob.data[i] >= threshold ? 1 : 0;
  const mask = resizeNearest(small, prob.width, prob.height, img.width, img.height);
  let fg = 0;
  for (let i = 0; i < mask.length; i++) fg += mask[i];
  let actions: SegmentOutput['actions'] = null;
  if (model.actionsName) {
    // The models package's export gives one map, 1 = masked at some step (a masked pixel stays
    // masked); a graph with one map per step is read the same way: masked if masked at any step.
    const what = `model '${model.key}' output '${model.actionsName}'`;
    const first = outputPlane(value.out[model.actionsName], model.layout, 0, what);
    const masked = new Uint8Array(first.data.length);
    for (let k = 0; k < first.channels; k++) {
      const a = k === 0 ? first : outputPlane(value.out[model.actionsName], model.layout, k, what);
      for (let i = 0; i < masked.length; i++) if (a.data[i] >= 0.5) masked[i] = 1;
    }
    actions = { masked: resizeNearest(masked, first.width, first.height, img.width, img.height), steps: first.channels };
  }
  const end = performance.now();
  return {
    width: img.width,
    height: img.height,
    mask,
    foregroundPixels: fg,
    actions,
    timings: { decodeMs: decodeMs + (tDecoded - t0), queueMs, inferenceMs: value.inferenceMs, postprocessMs: end - tPost, totalMs: decodeMs + (end - t0) },
  };
}
