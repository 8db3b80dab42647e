/**
 * In-browser segmentation with onnxruntime-web (wasm backend). The wasm runtime is served by the
 * viewer itself from `./ort/` (vite.config.ts copies it there): no CDN, so it works offline.
 */
import * as ort from 'onnxruntime-web/wasm';
import { inferenceMetadataFromProps, readOnnxMetadataProps, type InferenceMetadata } from '@mrlseg/types';
import type { GreyImage } from './overlay';
import { inputGeometry, maskedUnion, planes, resizeBilinear01, scaleIntensity, threshold, type Layout } from './preprocess';

let configured = false;

/** Points onnxruntime-web at the app's own copy of its wasm files; one thread (no cross-origin isolation needed). */
export function configureOrt(base: string = document.baseURI): void {
  if (configured) return;
  ort.env.wasm.wasmPaths = new URL('ort/', base).href;
  ort.env.wasm.numThreads = 1;
  ort.env.wasm.proxy = false;
  configured = true;
}

export interface BrowserModel {
  session: ort.InferenceSession;
  inputName: string;
  layout: Layout;
  width: number;
  height: number;
  probabilitiesName: string;
  actionsName: string | null;
  /** How the model was trained to be fed (its ONNX metadata_props; the defaults without them). */
  metadata: InferenceMetadata & { present: boolean };
  /** time to create the session (the first one also compiles the wasm runtime) */
  loadMs: number;
}

export async function loadModel(bytes: ArrayBuffer, fallbackSize: number): Promise<BrowserModel> {
  configureOrt();
  // A model without (or with unreadable) metadata keeps the defaults: grey / 255, size from the graph or the run.
  let metadata: BrowserModel['metadata'];
  try {
    metadata = inferenceMetadataFromProps(readOnnxMetadataProps(new Uint8Array(bytes)));
  } catch {
    metadata = inferenceMetadataFromProps(undefined);
  }
  const t0 = performance.now();
  const session = await ort.InferenceSession.create(new Uint8Array(bytes), { executionProviders: ['wasm'] });
  const loadMs = performance.now() - t0;
  const meta = session.inputMetadata?.[0];
  const shape = meta && meta.isTensor ? meta.shape : undefined;
  const geo = inputGeometry(shape, metadata.inputSize?.[0] ?? fallbackSize, metadata.inputSize?.[1]);
  const outs = session.outputNames;
  return {
    session,
    inputName: session.inputNames[0],
    ...geo,
    probabilitiesName: outs.includes('probabilities') ? 'probabilities' : outs[0],
    actionsName: outs.includes('actions') ? 'actions' : null,
    metadata,
    loadMs,
  };
}

export interface BrowserSegmentation {
  /** the input as the model saw it (resized, grey 0..255) */
  input: GreyImage;
  mask: GreyImage;
  /** 255 = masked by the agent at some step; null without an `actions` output */
  actions: GreyImage | null;
  foregroundPixels: number;
  inferenceMs: number;
}

/** Resizes `img` to the model input, scales it as the model's metadata says, runs it, thresholds `probabilities` (last channel) at 0.5. */
export async function segmentInBrowser(model: BrowserModel, img: GreyImage): Promise<BrowserSegmentation> {
  const { width, height, layout } = model;
  const grey01 = resizeBilinear01(img, width, height);
  const x = scaleIntensity(grey01, model.metadata.intensityScale, model.metadata.intensityOffset);
  const dims = layout === 'NHWC' ? [1, height, width, 1] : [1, 1, height, width];
  const feed = new ort.Tensor('float32', x, dims);
  const t0 = performance.now();
  const fetches = model.actionsName ? [model.probabilitiesName, model.actionsName] : [model.probabilitiesName];
  const out = await model.session.run({ [model.inputName]: feed }, fetches);
  const inferenceMs = performance.now() - t0;
  const prob = out[model.probabilitiesName];
  const p = planes(prob.data as Float32Array, prob.dims, layout, `output '${model.probabilitiesName}'`);
  const mask = threshold(p.planes[p.planes.length - 1], p.width, p.height);
  let actions: GreyImage | null = null;
  if (model.actionsName) {
    const a = out[model.actionsName];
    const ap = planes(a.data as Float32Array, a.dims, layout, `output '${model.actionsName}'`);
    actions = maskedUnion(ap.planes, ap.width, ap.height);
  }
  for (const t of Object.values(out)) t.dispose();
  feed.dispose();
  const input: GreyImage = { width, height, data: Uint8ClampedArray.from(grey01, (v) => v * 255) };
  let fg = 0;
  for (const v of mask.data) if (v) fg++;
  return { input, mask, actions, foregroundPixels: fg, inferenceMs };
}
