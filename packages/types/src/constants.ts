/**
 * @mrlseg/types/constants: the closed lists of names (dataset formats, variants, lesion labels,
 * report formats, HD95 conventions) without zod, for code that only needs the names: the CLI's
 * flag definitions and `--help`. The schemas built on them are in config.ts and records.ts.
 */
export const DATASET_FORMATS = ['kits19', 'kits19-slices', 'pancreas-ct', 'busi', 'folder', 'synthetic'] as const;
export type DatasetFormat = (typeof DATASET_FORMATS)[number];

/** Ablation variants of Table V plus the baselines in scope (METHOD-NOTES "Baselines"). */
export const VARIANT_IDS = [
  'onlyseg',
  'rl-seg',
  'rl-fb-seg',
  'rl-fb-adp-seg',
  'rl-seg-nopretrain',
  'unet',
  'resunet',
  'seg-ufl',
] as const;
export type VariantId = (typeof VARIANT_IDS)[number];

export const LESION_LABELS = ['tumour', 'kidney', 'kidney+tumour'] as const;

export const REPORT_FORMATS = ['md', 'csv', 'latex', 'json'] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];

/**
 * How HD95 combines the two directions: 'directed' (95th percentile per direction, then the max;
 * MONAI) or 'pooled' (both directions' distances together; medpy). Computed by @mrlseg/metrics.
 */
export const HD95_CONVENTIONS = ['directed', 'pooled'] as const;
export type Hd95Convention = (typeof HD95_CONVENTIONS)[number];
