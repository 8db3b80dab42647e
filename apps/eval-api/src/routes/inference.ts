/**
 * POST /api/v1/segment (an ONNX model's binary mask for an uploaded image) and
 * POST /api/v1/evaluate (metrics of an uploaded prediction against an uploaded ground truth).
 * Neither writes anything: they need no token.
 */
import { Router } from 'express';
import { encodeGreyPng, readBinaryMask } from '@mrlseg/data';
import { computeFbRatio, computeSegmentationMetrics } from '@mrlseg/metrics';
import { EvaluateQuerySchema, SegmentQuerySchema, parseWith, type EvaluateResult, type SegmentResult } from '@mrlseg/types';
import { HttpError } from '../errors';
import { checkUpload, decodeSegmentUpload, segment } from '../inference/segment';
import { CT_WINDOW, sniffVolume } from '../inference/volumes';
import type { ModelRegistry } from '../inference/models';
import type { InferenceQueue } from '../inference/queue';
import { multipartFiles, uploadedFile } from '../upload';

export interface InferenceDeps {
  registry: ModelRegistry;
  queue: InferenceQueue;
  maxUploadMb: number;
  maxPixels: number;
}

const round = (ms: number) => Math.round(ms * 100) / 100;

export function inferenceRouter(deps: InferenceDeps): Router {
  const r = Router();

  r.get('/models', async (_req, res) => {
    res.json({ items: (await deps.registry.available()).map((m) => ({ key: m.key })) });
  });

  r.post('/segment', multipartFiles(['image'], deps), async (req, res) => {
    const t0 = performance.now();
    // Query string wins over multipart text fields of the same name.
    const q = parseWith(SegmentQuerySchema, { ...(req.body ?? {}), ...req.query }, 'segment request');
    const bytes = uploadedFile(req.files, 'image');
    // A volume is sliced and windowed as the model was trained (its metadata), so the model is
    // loaded first; images are checked before any model is touched.
    const ref = await deps.registry.resolve(q.model);
    const tLoad = performance.now();
    const model = sniffVolume(bytes) ? await deps.registry.load(ref) : null;
    const loadMs = performance.now() - tLoad;
    const md = model?.metadata;
    const axis = (q.axis as 0 | 2 | undefined) ?? (md?.present ? md.sliceAxis : 2);
    const ctWindow = q.window === 'off' ? null : q.window === 'on' ? (md?.ctWindow ?? CT_WINDOW) : md ? md.ctWindow : CT_WINDOW;
    const img = await decodeSegmentUpload(bytes, 'image', { slice: q.slice, axis, ctWindow, maxPixels: deps.maxPixels });
    const decodeMs = performance.now() - t0 - loadMs;
    // The first request for a model also loads it (not counted in the stage timings, only in totalMs).
    const loaded = model ?? (await deps.registry.load(ref));
    const out = await segment(img, loaded, deps.queue, q.threshold, decodeMs);
    const fb = computeFbRatio(out.mask);
    res.setHeader('X-Model', loaded.key);
    res.setHeader('X-Foreground-Pixels', String(out.foregroundPixels));
    res.setHeader('Server-Timing', Object.entries(out.timings).map(([k, v]) => `${k.replace(/Ms$/, '')};dur=${round(v)}`).join(', '));
    if (q.format === 'png') {
      res.type('image/png').send(await encodeGreyPng(out.mask, out.width, out.height, { binary: true }));
      return;
    }
    let actions: SegmentResult['actions'] = null;
    if (out.actions) {
      let masked = 0;
      for (const v of out.actions.masked) masked += v;
      actions = {
        retained: out.actions.masked.length - masked,
        masked,
        steps: out.actions.steps,
        png: (await encodeGreyPng(out.actions.masked, out.width, out.height, { binary: true })).toString('base64'),
      };
    }
    const body: SegmentResult = {
      model: loaded.key,
      source: { kind: img.kind, slice: img.slice },
      width: out.width,
      height: out.height,
      modelInput: { width: loaded.width, height: loaded.height, layout: loaded.layout },
      threshold: q.threshold,
      foregroundPixels: fb.foreground,
      backgroundPixels: fb.background,
      fbRatio: fb.fbRatio,
      foregroundFraction: fb.foregroundFraction,
      ...(q.includeMask ? { mask: (await encodeGreyPng(out.mask, out.width, out.height, { binary: true })).toString('base64') } : {}),
      actions,
      timings: {
        decodeMs: round(out.timings.decodeMs),
        queueMs: round(out.timings.queueMs),
        inferenceMs: round(out.timings.inferenceMs),
        postprocessMs: round(out.timings.postprocessMs),
        totalMs: round(performance.now() - t0),
      },
    };
    res.json(body);
  });

  r.post('/evaluate', multipartFiles(['prediction', 'groundTruth'], deps), async (req, res) => {
    const q = parseWith(EvaluateQuerySchema, { ...(req.body ?? {}), ...req.query }, 'evaluate request');
    const read = async (field: 'prediction' | 'groundTruth') => {
      const bytes = uploadedFile(req.files, field);
      await checkUpload(bytes, field, deps.maxPixels);
      return readBinaryMask(bytes, q.threshold, field);
    };
    const [pred, gt] = await Promise.all([read('prediction'), read('groundTruth')]);
    if (pred.width !== gt.width || pred.height !== gt.height) {
      throw new HttpError(400, 'size_mismatch', `prediction is ${pred.width} x ${pred.height} but groundTruth is ${gt.width} x ${gt.height}; masks must have the same size`);
    }
    const m = computeSegmentationMetrics(pred.data, gt.data, {
      width: gt.width,
      height: gt.height,
      spacing: [q.spacingX, q.spacingY],
      nsdTolerance: q.nsdTolerance,
      ...(q.intervals ? { intervals: q.intervals } : {}),
    });
    const body: EvaluateResult = { width: gt.width, height: gt.height, ...m };
    res.json(body);
  });

  return r;
}
