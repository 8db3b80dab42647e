/**
 * Request and response schemas of the evaluation API (apps/eval-api). The API validates query
 * strings and multipart fields with these, builds its OpenAPI document from them, and the viewer
 * (which reads only the API) can type its responses with the inferred types.
 * Shared run/case/query schemas (RunRecordSchema, CasesQuerySchema, IdSchema, ...) live in records.ts.
 */
import { z } from 'zod';
import { CaseMetricRecordSchema, IdSchema, ReportFormatSchema } from './records';
import { ExperimentConfigSchema } from './config';

/** Output of POST /api/v1/segment: the mask as image/png (default) or a JSON summary. */
export const SEGMENT_FORMATS = ['png', 'json'] as const;

/** Query string (and multipart text fields) of POST /api/v1/segment. */
export const SegmentQuerySchema = z.object({
  format: z.enum(SEGMENT_FORMATS).default('png').describe('png: the binary mask as image/png; json: counts, ratios, timings'),
  model: IdSchema.optional().describe(
    'a run id whose ONNX export to use, or "default" (the --model of the server); default: the server default, else the newest run with an ONNX export',
  ),
  threshold: z.coerce
    .number()
    .gt(0, 'threshold must lie in (0, 1)')
    .lt(1, 'threshold must lie in (0, 1)')
    .default(0.5)
    .describe('foreground when the probability is >= threshold'),
  slice: z.coerce.number().int().min(0).optional().describe('NIfTI uploads: index of the slice to segment (default: the middle one)'),
  axis: z.coerce
    .number()
    .int()
    .refine((a) => a === 0 || a === 2, 'axis must be 0 (sagittal, KiTS19 layout) or 2 (axial)')
    .optional()
    .describe("NIfTI uploads: slicing axis; default: the model's slice axis (ONNX metadata mrlseg.slice_axis), 2 for a model without metadata"),
  window: z
    .enum(['on', 'off'])
    .optional()
    .describe(
      "DICOM/NIfTI uploads (values in HU): on = the model's CT window (mrlseg.ct_window; the paper's [-79, 304] when it has none) to [0, 255]; off = the slice's own min..max; default: on, unless the model's metadata says it has no CT window",
    ),
  includeMask: z
    .enum(['true', 'false', '1', '0'])
    .transform((v) => v === 'true' || v === '1')
    .default(false)
    .describe('with format=json: also return the mask as base64 PNG'),
});
export type SegmentQuery = z.infer<typeof SegmentQuerySchema>;

export const SegmentTimingsSchema = z.object({
  decodeMs: z.number().nonnegative().describe('decode and resize to the model input'),
  queueMs: z.number().nonnegative().describe('time waiting for a free inference slot'),
  inferenceMs: z.number().nonnegative().describe('onnxruntime session.run'),
  postprocessMs: z.number().nonnegative().describe('threshold, resize back, PNG encoding'),
  totalMs: z.number().nonnegative(),
});

/** The RL policy's deterministic action mask at the input's size. */
export const ActionMaskSummarySchema = z.object({
  retained: z.number().int().nonnegative().describe('pixels the agent retained at every step'),
  masked: z.number().int().nonnegative().describe('pixels the agent masked at some step (a masked pixel stays masked)'),
  steps: z.number().int().positive().describe('action maps in the actions output (1 when the model outputs the final map)'),
  png: z.string().describe('the action mask as base64 PNG at the input size, white (255) = masked, as the store\'s actions.png'),
});

export const SegmentResultSchema = z.object({
  model: z.string().describe('"default" or the run id whose model was used'),
  source: z.object({
    kind: z.enum(['png', 'jpeg', 'dicom', 'nifti']),
    slice: z.number().int().nullable().describe('the NIfTI slice segmented (null for 2-D files)'),
  }),
  width: z.number().int().positive(),
  height: z.number().int().positive(),
  modelInput: z.object({ width: z.number().int().positive(), height: z.number().int().positive(), layout: z.enum(['NHWC', 'NCHW']) }),
  threshold: z.number(),
  foregroundPixels: z.number().int().nonnegative(),
  backgroundPixels: z.number().int().nonnegative(),
  fbRatio: z.number().nonnegative().describe('foreground / background pixels of the mask (Eq. 3 x; Number.MAX_VALUE when no background is left)'),
  foregroundFraction: z.number().min(0).max(1),
  mask: z.string().optional().describe('base64 PNG of the mask (includeMask=true)'),
  actions: ActionMaskSummarySchema.nullable().describe('null when the model has no `actions` output'),
  timings: SegmentTimingsSchema,
});
export type SegmentResult = z.infer<typeof SegmentResultSchema>;

/** Query string of POST /api/v1/evaluate (both masks are thresholded grey images). */
export const EvaluateQuerySchema = z.object({
  threshold: z.coerce.number().int().min(0).max(254).default(127).describe('grey value above which a mask pixel is foreground'),
  spacingX: z.coerce.number().positive().default(1).describe('pixel spacing along x (e.g. mm) for the distance metrics'),
  spacingY: z.coerce.number().positive().default(1).describe('pixel spacing along y'),
  nsdTolerance: z.coerce.number().nonnegative().default(1).describe('NSD tolerance in spacing units'),
  intervals: z.enum(['ct', 'busi']).optional().describe("label the ground truth's fbRatio interval with the paper's CT or BUSI edges"),
});
export type EvaluateQuery = z.infer<typeof EvaluateQuerySchema>;

/** Response of POST /api/v1/evaluate: the per-case metrics of packages/metrics and the counts behind them. */
export const EvaluateResultSchema = CaseMetricRecordSchema.omit({ runId: true, caseId: true, patient: true, maskedFraction: true, lesionMaskedFraction: true }).extend({
  width: z.number().int().positive(),
  height: z.number().int().positive(),
  tp: z.number().int().nonnegative(),
  fp: z.number().int().nonnegative(),
  fn: z.number().int().nonnegative(),
  tn: z.number().int().nonnegative(),
  predForeground: z.number().int().nonnegative(),
  gtForeground: z.number().int().nonnegative(),
  spacing: z.tuple([z.number(), z.number()]),
  nsdTolerance: z.number(),
  hd95Convention: z.string(),
});
export type EvaluateResult = z.infer<typeof EvaluateResultSchema>;

export const ReportQuerySchema = z.object({
  format: ReportFormatSchema.default('json'),
});
export type ReportQuery = z.infer<typeof ReportQuerySchema>;

/** Every error response of the API. */
export const ApiErrorSchema = z.object({
  error: z.object({
    status: z.number().int(),
    code: z.string().describe('stable machine-readable code, e.g. not_found, payload_too_large'),
    message: z.string(),
    issues: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  }),
});
export type ApiError = z.infer<typeof ApiErrorSchema>;

export const HealthSchema = z.object({
  status: z.literal('ok'),
  version: z.string(),
  uptimeS: z.number().nonnegative(),
  // Anyone may call /health: the kind of store only, never its folder or URL (a PostgreSQL URL may carry a password).
  store: z.enum(['sqlite', 'postgres']).nullable().describe('which kind of results store the server reads (null: none)'),
  models: z.number().int().nonnegative().describe('model files loaded so far (each worker thread holds one session per file)'),
  queue: z.object({
    running: z.number().int(),
    waiting: z.number().int(),
    concurrency: z.number().int(),
    maxQueue: z.number().int(),
    peakRunning: z.number().int().describe('most inferences ever running at once'),
    peakWaiting: z.number().int().describe('most inferences ever waiting at once'),
  }),
});
export type Health = z.infer<typeof HealthSchema>;

/** A page of a list endpoint. */
export function pageSchema<T extends z.ZodType>(item: T) {
  return z.object({
    items: z.array(item),
    total: z.number().int().nonnegative(),
    page: z.number().int().positive(),
    pageSize: z.number().int().positive(),
  });
}

/**
 * Body of POST /api/v1/queue (runner tokens): an experiment grid to hand to the workers, as
 * `mrlseg cv --config <file> --queue ...` would. `dataset.root` must be absolute (the folder as
 * the API and the workers see it).
 */
export const EnqueueRequestSchema = z.object({
  config: ExperimentConfigSchema.describe('the experiment config (as in a config file, validated by ExperimentConfigSchema)'),
  author: z.string().trim().min(1).max(200).optional().describe('who starts the experiment (default: the id of the calling token)'),
});
export type EnqueueRequest = z.input<typeof EnqueueRequestSchema>;

/** Answer of POST /api/v1/queue (and of `enqueueGrid`): what was recorded and queued. */
export const EnqueueResultSchema = z.object({
  experimentId: z.string().min(1).describe('the grid\'s experiment id (from its config: enqueueing the same grid again names the same experiment)'),
  createdExperiment: z.boolean().describe('false when the experiment was already in the store'),
  runs: z.number().int().min(0).describe('runs in the grid (variants x folds x seeds)'),
  pretrainJobs: z.number().int().min(0).describe('shared pre-training jobs the runs depend on'),
  addedJobs: z.boolean().describe('false when the grid was already queued: nothing was added'),
});
export type EnqueueResult = z.infer<typeof EnqueueResultSchema>;
