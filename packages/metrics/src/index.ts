/**
 * @mrlseg/metrics: per-case segmentation metrics on binary 2-D masks (Dice, IoU, precision, recall,
 * HD, HD95, ASSD, NSD) and 3-D volumes with voxel spacing, the fbRatio of Eq. (3) and its intervals, aggregation, paired tests and
 * paper-layout tables. Universal (no Node built-ins). Conventions: README.md.
 */
export { type Spacing } from './validation';
export { extractBoundary } from './boundary';
export { euclideanDistanceTransform } from './distance-transform';
export {
  computeConfusion,
  computeDice,
  diceFromCounts,
  iouFromCounts,
  precisionFromCounts,
  recallFromCounts,
  type ConfusionCounts,
} from './overlap';
export {
  computeSurfaceDistances,
  computeHausdorff,
  computeHd95,
  hausdorffFromDistances,
  hausdorffPercentileFromDistances,
  assdFromDistances,
  nsdFromDistances,
  percentile,
  HD95_CONVENTIONS,
  type Hd95Convention,
  type SurfaceDistances,
} from './surface-distance';
export { computeSurfaceDistances3d, computeVolumeMetrics, type Spacing3d, type VolumeMetrics } from './surface-distance-3d';
export { computeFbRatio, fbRatioFromCounts, type FbRatio } from './fb-ratio';
export { resolveIntervalEdges, parseIntervalSpec, intervalLabels, intervalIndex, intervalLabel, type IntervalSpec } from './intervals';
export {
  computeSegmentationMetrics,
  toCaseMetricRecord,
  DEFAULT_NSD_TOLERANCE,
  type SegmentationMetrics,
  type SegmentationMetricsOptions,
  type CaseMetrics,
} from './segmentation-metrics';
export {
  summarize,
  summarizeByInterval,
  isFiniteValue,
  type SummaryStats,
  type IntervalCase,
  type GroupSummary,
  type IntervalSummary,
  type IntervalSummaryTable,
} from './aggregate';
export { pairedTTest, wilcoxonSignedRank, type PairedTestResult } from './paired-tests';
export {
  buildComparisonTable,
  renderTable,
  type TableCase,
  type TableRowInput,
  type TableOptions,
  type TableCell,
  type ResultTable,
  type TableFormat,
} from './tables';
