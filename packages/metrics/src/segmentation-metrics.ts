/**
 * The full per-case metric set of one binary 2-D prediction against its ground truth, in the shape
 * of `CaseMetricRecord` (@mrlseg/types) so the experiments store can keep it as is.
 *
 * Empty-mask convention (documented in the README, flagged by `emptyGt` / `emptyPred`, never dropped):
 * - a ratio with a zero denominator is undefined -> `null` (both empty: Dice, IoU, precision, recall;
 *   empty prediction: precision; empty ground truth: recall);
 * - surface distances need both boundaries: with either mask empty HD, HD95 and ASSD are `null`
 *   (mathematically +Infinity with one empty mask); NSD is 0 with exactly one empty mask and `null`
 *   with both empty;
 * - `emptyBoth: 'perfect'` instead scores two empty masks as a perfect match (overlap metrics and
 *   NSD 1, distances 0), MONAI's `ignore_empty=False`.
 */
import type { CaseAgentFractions, CaseMetricRecord } from '@mrlseg/types';
import { computeFbRatio } from './fb-ratio';
import { intervalLabel, type IntervalSpec } from './intervals';
import { computeConfusion, diceFromCounts, iouFromCounts, precisionFromCounts, recallFromCounts } from './overlap';
import {
  assdFromDistances,
  computeSurfaceDistances,
  HD95_CONVENTIONS,
  hausdorffFromDistances,
  hausdorffPercentileFromDistances,
  nsdFromDistances,
  type Hd95Convention,
} from './surface-distance';
import { assertMask, assertShape, resolveSpacing, type Spacing } from './validation';

export const DEFAULT_NSD_TOLERANCE = 1;

export interface SegmentationMetricsOptions {
  width: number;
  height: number;
  /** [sx, sy] pixel size (x within a row, y down a column); distances are in these units. Default [1, 1] (pixels). */
  spacing?: Spacing;
  /** NSD tolerance in the units of `spacing` (default 1). */
  nsdTolerance?: number;
  /** HD95 convention (default 'directed', MONAI's); see surface-distance.ts. */
  hd95Convention?: Hd95Convention;
  /** How to score two empty masks: 'undefined' (default: null metrics, as nnU-Net and MONAI's default) or 'perfect'. */
  emptyBoth?: 'undefined' | 'perfect';
  /** When given, `interval` is the label of the ground truth's fbRatio interval; otherwise null. */
  intervals?: IntervalSpec;
}

/** The CaseMetricRecord fields a metric computation determines (not the agent's masking, which the pipeline measures). */
export type CaseMetrics = Omit<CaseMetricRecord, 'runId' | 'caseId' | 'patient' | keyof CaseAgentFractions>;

/** Per-case metrics: the CaseMetricRecord fields plus the counts and settings behind them. */
export interface SegmentationMetrics extends CaseMetrics {
  tp: number;
  fp: number;
  fn: number;
  tn: number;
  predForeground: number;
  gtForeground: number;
  spacing: [number, number];
  nsdTolerance: number;
  hd95Convention: Hd95Convention;
}

const orNull = (v: number | null): number | null => (v === null || Number.isNaN(v) ? null : v);

/**
 * Dice, IoU, precision, recall, HD, HD95, ASSD and NSD of `pred` against `gt` (row-major H x W
 * Uint8Array, non-zero = foreground), plus the ground truth's fbRatio (Eq. 3's x), foreground
 * fraction and interval. Distances are in spacing units (pixels by default). See the module comment
 * for the empty-mask convention.
 */
export function computeSegmentationMetrics(pred: Uint8Array, gt: Uint8Array, opts: SegmentationMetricsOptions): SegmentationMetrics {
  const fn = 'computeSegmentationMetrics';
  if (opts === null || typeof opts !== 'object') throw new TypeError(`${fn}: opts must be { width, height, ... }, got ${String(opts)}`);
  const { width, height } = opts;
  assertShape(fn, width, height);
  assertMask(fn, 'pred', pred, width, height);
  assertMask(fn, 'gt', gt, width, height);
  const spacing = resolveSpacing(fn, opts.spacing);
  const nsdTolerance = opts.nsdTolerance ?? DEFAULT_NSD_TOLERANCE;
  if (!(Number.isFinite(nsdTolerance) && nsdTolerance >= 0)) throw new RangeError(`${fn}: nsdTolerance must be a finite number >= 0, got ${nsdTolerance}`);
  const hd95Convention = opts.hd95Convention ?? 'directed';
  if (!HD95_CONVENTIONS.includes(hd95Convention)) throw new RangeError(`${fn}: hd95Convention must be one of ${HD95_CONVENTIONS.join(', ')}, got '${hd95Convention}'`);
  const emptyBoth = opts.emptyBoth ?? 'undefined';
  if (emptyBoth !== 'undefined' && emptyBoth !== 'perfect') throw new RangeError(`${fn}: emptyBoth must be 'undefined' or 'perfect', got '${String(emptyBoth)}'`);

  const c = computeConfusion(pred, gt, width, height);
  const fb = computeFbRatio(gt);
  const predForeground = c.tp + c.fp;
  const gtForeground = c.tp + c.fn;
  const emptyPred = predForeground === 0;
  const emptyGt = gtForeground === 0;
  const base = {
    fbRatio: fb.fbRatio,
    foregroundFraction: fb.foregroundFraction,
    interval: opts.intervals === undefined ? null : intervalLabel(fb.fbRatio, opts.intervals),
    emptyGt,
    emptyPred,
    ...c,
    predForeground,
    gtForeground,
    spacing,
    nsdTolerance,
    hd95Convention,
  };
  if (emptyPred && emptyGt && emptyBoth === 'perfect') {
    return { ...base, dice: 1, iou: 1, precision: 1, recall: 1, hd: 0, hd95: 0, assd: 0, nsd: 1 };
  }
  const d = computeSurfaceDistances(pred, gt, width, height, spacing);
  return {
    ...base,
    dice: diceFromCounts(c),
    iou: iouFromCounts(c),
    precision: precisionFromCounts(c),
    recall: recallFromCounts(c),
    hd: orNull(hausdorffFromDistances(d)),
    hd95: orNull(hausdorffPercentileFromDistances(d, 95, hd95Convention)),
    assd: orNull(assdFromDistances(d)),
    nsd: orNull(nsdFromDistances(d, nsdTolerance)),
  };
}

/**
 * A storable CaseMetricRecord from computed metrics and the case's identifiers (extra fields
 * dropped). `agent`: what the Reinforcement-Net masked (CaseAgentFractionsSchema); null for both
 * when left out (no agent).
 */
export function toCaseMetricRecord(
  m: CaseMetrics,
  ids: { runId: string; caseId: string; patient: string },
  agent: CaseAgentFractions = { maskedFraction: null, lesionMaskedFraction: null },
): CaseMetricRecord {
  return {
    runId: ids.runId,
    caseId: ids.caseId,
    patient: ids.patient,
    fbRatio: m.fbRatio,
    foregroundFraction: m.foregroundFraction,
    interval: m.interval,
    dice: m.dice,
    iou: m.iou,
    precision: m.precision,
    recall: m.recall,
    hd: m.hd,
    hd95: m.hd95,
    assd: m.assd,
    nsd: m.nsd,
    emptyGt: m.emptyGt,
    emptyPred: m.emptyPred,
    maskedFraction: agent.maskedFraction,
    lesionMaskedFraction: agent.lesionMaskedFraction,
  };
}
