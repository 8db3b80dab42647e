/**
 * Records that cross process boundaries: a 2-D sample's metadata (data -> experiments -> store),
 * run records and per-case metric records (store -> API -> viewer), and API request schemas.
 */
import { z } from 'zod';
import { DatasetFormatSchema, VariantIdSchema } from './config';
import { REPORT_FORMATS } from './constants';

/** What preprocessing did to a sample, step by step, so a result can be traced back. */
export const PreprocessingRecordSchema = z.object({
  resizedTo: z.tuple([z.number().int(), z.number().int()]).optional(),
  ctWindow: z.tuple([z.number(), z.number()]).optional(),
  rgbToGrey: z.boolean().default(false),
  scaledTo01: z.boolean().default(true),
  augmentation: z.array(z.string()).default([]),
  configHash: z.string().optional(),
});

export const SampleMetaSchema = z.object({
  id: z.string().min(1),
  patient: z.string().min(1),
  slice: z.number().int().nonnegative(),
  format: DatasetFormatSchema,
  source: z.object({ image: z.string().optional(), mask: z.array(z.string()).default([]) }),
  width: z.number().int().positive().describe('original width in pixels'),
  height: z.number().int().positive().describe('original height in pixels'),
  spacing: z.tuple([z.number().positive(), z.number().positive()]).optional().describe('pixel spacing (x, y) in mm'),
  foregroundPixels: z.number().int().nonnegative(),
  fbRatio: z.number().nonnegative().describe('foreground / background pixels at original resolution (Eq. 3 x)'),
  preprocessing: PreprocessingRecordSchema.optional(),
});
export type SampleMeta = z.infer<typeof SampleMetaSchema>;
export type PreprocessingRecord = z.infer<typeof PreprocessingRecordSchema>;

/** 'pending': queued (mrlseg cv --queue), waiting for a worker. */
export const RUN_STATUSES = ['pending', 'running', 'completed', 'failed', 'incomplete'] as const;
export const RunStatusSchema = z.enum(RUN_STATUSES);

/**
 * Validation-based selection of a run's final model (issue 15): the candidates are the pre-trained
 * Segmentation-Net alone (agent off) and the state after each RL (or budget-fair fine-tuning) epoch;
 * the one with the best mean Dice on the validation split (carved from the training patients, never
 * the held-out fold) is evaluated.
 */
export const RunSelectionSchema = z.object({
  chosen: z.string().describe("'pretrained' or '<phase>-<epoch>' (1-based epoch)"),
  valDice: z.record(z.string(), z.number().nullable()).describe('validation mean Dice of each candidate'),
  validationCases: z.number().int().nonnegative(),
  lesionMasked: z
    .record(z.string(), z.number().nullable())
    .optional()
    .describe("share (0-1) of the validation lesion pixels that each agent state's greedy policy masks (RL states; pooled over the validation slices)"),
  maxLesionMasked: z
    .number()
    .optional()
    .describe('training.selectMaxLesionMasked when it was set: agent states above it could be kept only while no state at or below it had been offered'),
});
export type RunSelection = z.infer<typeof RunSelectionSchema>;

/**
 * A run's results at a glance, averaged over its evaluated cases (the store computes it from the
 * cases table; the viewer's runs table shows it). Each mean counts only the cases where the value
 * is defined: Dice is undefined when both masks are empty, HD when either is; the masked fraction
 * exists for runs with an agent whose cases recorded it (store schema >= 2).
 */
export const RunSummarySchema = z.object({
  cases: z.number().int().min(1).describe('evaluated cases'),
  meanDice: z.number().nullable().describe('mean Dice over the diceCases cases where it is defined'),
  diceCases: z.number().int().min(0),
  meanHd: z.number().nullable().describe('mean Hausdorff distance (pixels or spacing units) over the hdCases cases where it is defined'),
  hdCases: z.number().int().min(0),
  maskedFraction: z.number().nullable().describe("mean fraction of each case's pixels the deterministic policy masked; null without an agent"),
  maskedCases: z.number().int().min(0),
});
export type RunSummary = z.infer<typeof RunSummarySchema>;

export const RunRecordSchema = z.object({
  id: z.string().min(1),
  experimentId: z.string().min(1),
  variant: VariantIdSchema,
  fold: z.number().int().min(-1).describe('-1: trained on all data'),
  seed: z.number().int(),
  status: RunStatusSchema,
  dataset: z.string(),
  backend: z.string(),
  gitCommit: z.string().nullable(),
  config: z.unknown(),
  startedAt: z.string(),
  finishedAt: z.string().nullable(),
  durationMs: z.number().nullable(),
  timings: z.record(z.string(), z.number()).default({}),
  checkpointPath: z.string().nullable().default(null),
  onnxPath: z.string().nullable().default(null),
  packageVersions: z.record(z.string(), z.string()).default({}).describe('versions of the packages that produced the run'),
  error: z.string().nullable().default(null).describe('why the run failed or stopped, when it did'),
  selection: RunSelectionSchema.nullable().default(null).describe('which state of the run was kept, chosen on the validation split (issue 15)'),
  host: z.string().nullable().default(null).describe('machine that trained (or is training) the run'),
  lastEpoch: z
    .object({ phase: z.string(), epoch: z.number().int().nonnegative() })
    .nullable()
    .default(null)
    .describe('the last epoch recorded (0-based); a running run is in the next one'),
  summary: RunSummarySchema.nullable().default(null).describe('mean Dice, HD and masked fraction over the evaluated cases; null before evaluation'),
});
export type RunRecord = z.infer<typeof RunRecordSchema>;

/** One experiment: variants x folds x seeds over one dataset (the store groups runs under it). */
export const ExperimentRecordSchema = z.object({
  id: z.string().min(1),
  name: z.string(),
  dataset: z.string(),
  config: z.unknown(),
  configHash: z.string(),
  createdAt: z.string(),
  gitCommit: z.string().nullable(),
  author: z.string().nullable().default(null).describe('who started the experiment (--author, default the OS user name)'),
});
export type ExperimentRecord = z.infer<typeof ExperimentRecordSchema>;

/**
 * What the Reinforcement-Net did to one case: after the rl.episodeLength deterministic (greedy)
 * steps, the fraction of the case's pixels masked, |masked| / (S x S), and the fraction of its
 * ground-truth lesion pixels masked, |masked AND lesion| / |lesion|, both at the training size S.
 * Null for runs without an agent (OnlySeg, baselines) and for cases stored before these fields
 * existed (store schema < 2; re-evaluate with `mrlseg eval --run <id>`); `lesionMaskedFraction` is
 * also null when the case has no lesion pixel.
 */
export const CaseAgentFractionsSchema = z.object({
  maskedFraction: z.number().min(0).max(1).nullable().default(null).describe('fraction of all pixels the deterministic policy masked after T steps'),
  lesionMaskedFraction: z
    .number()
    .min(0)
    .max(1)
    .nullable()
    .default(null)
    .describe('fraction of ground-truth lesion pixels masked after T steps; null without a lesion'),
});
export type CaseAgentFractions = z.infer<typeof CaseAgentFractionsSchema>;

/** Per-case metrics as stored and served; HD fields are null when undefined (an empty mask). */
export const CaseMetricRecordSchema = z.object({
  runId: z.string(),
  caseId: z.string(),
  patient: z.string(),
  fbRatio: z.number().nonnegative(),
  foregroundFraction: z.number().min(0).max(1),
  interval: z.string().nullable(),
  dice: z.number().nullable(),
  iou: z.number().nullable(),
  precision: z.number().nullable(),
  recall: z.number().nullable(),
  hd: z.number().nullable(),
  hd95: z.number().nullable(),
  assd: z.number().nullable(),
  nsd: z.number().nullable(),
  emptyGt: z.boolean(),
  emptyPred: z.boolean(),
  ...CaseAgentFractionsSchema.shape,
});
export type CaseMetricRecord = z.infer<typeof CaseMetricRecordSchema>;
/** A case record as written (the agent fractions may be left out: they default to null). */
export type CaseMetricRecordInput = z.input<typeof CaseMetricRecordSchema>;

export const EpochRecordSchema = z.object({
  runId: z.string(),
  phase: z.enum(['pretrain', 'rl', 'finetune', 'train']),
  epoch: z.number().int().nonnegative(),
  loss: z.number().nullable(),
  reward: z.number().nullable(),
  valDice: z.number().nullable(),
  lr: z.number().nullable(),
  durationMs: z.number().nonnegative(),
  stats: z
    .record(z.string(), z.number().nullable())
    .nullable()
    .default(null)
    .describe(
      'agent instruments of an RL epoch (issue 15): greedy masked fractions maskedLesion / maskedDistractor / maskedOther / maskedAll, entropy, advantageMean, advantageStd, maskLabelShare (unit formulations: share of units labelled \'mask\'), gradientCosine',
    ),
});
export type EpochRecord = z.infer<typeof EpochRecordSchema>;
export type EpochRecordInput = z.input<typeof EpochRecordSchema>;

// ---- API request schemas (eval-api validates with these; the viewer builds URLs with them) ----

export const CASE_SORT_KEYS = ['dice', 'hd', 'hd95', 'iou', 'fbRatio', 'caseId'] as const;
export const CasesQuerySchema = z.object({
  page: z.coerce.number().int().min(1).default(1),
  pageSize: z.coerce.number().int().min(1).max(500).default(50),
  sort: z.enum(CASE_SORT_KEYS).default('caseId'),
  order: z.enum(['asc', 'desc']).default('asc'),
  interval: z.string().optional(),
});
export type CasesQuery = z.infer<typeof CasesQuerySchema>;

export { REPORT_FORMATS, HD95_CONVENTIONS, type ReportFormat, type Hd95Convention } from './constants';
export const ReportFormatSchema = z.enum(REPORT_FORMATS);

/** Run and case ids are plain tokens: no path separators, no dots at the start. */
export const IdSchema = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[A-Za-z0-9_][A-Za-z0-9_.()\- ]*$/, 'must be a plain id (letters, digits, _ - . ( ) space), no path separators');
