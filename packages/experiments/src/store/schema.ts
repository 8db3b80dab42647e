/**
 * Row types of the results store's tables as the query layer (Kysely) sees them: column names
 * as in the migrations, values as both dialects return them (numbers, text, null). JSON columns
 * (config, timings, package_versions) are text in both; timestamps are ISO-8601 text.
 */
export interface ExperimentsTable {
  id: string;
  name: string;
  dataset: string;
  config: string;
  config_hash: string;
  created_at: string;
  git_commit: string | null;
  /** Schema 5 (absent when a read-only opening reads an older store). */
  author: string | null;
}

export interface RunsTable {
  id: string;
  experiment_id: string;
  variant: string;
  fold: number;
  seed: number;
  status: string;
  dataset: string;
  backend: string;
  git_commit: string | null;
  config: string;
  started_at: string;
  finished_at: string | null;
  duration_ms: number | null;
  timings: string;
  checkpoint_path: string | null;
  onnx_path: string | null;
  package_versions: string;
  error: string | null;
  pid: number | null;
  host: string | null;
  /** Validation-based selection of the kept state, JSON (schema 3; null before). */
  selection: string | null;
}

export interface EpochsTable {
  run_id: string;
  phase: string;
  epoch: number;
  loss: number | null;
  reward: number | null;
  val_dice: number | null;
  lr: number | null;
  duration_ms: number;
  /** Agent instruments of the epoch, JSON (schema 3; null before). */
  stats: string | null;
}

export interface CheckpointsTable {
  run_id: string;
  phase: string;
  epoch: number;
  path: string;
  created_at: string;
}

export interface CasesTable {
  run_id: string;
  case_id: string;
  patient: string;
  fb_ratio: number;
  foreground_fraction: number;
  interval: string | null;
  dice: number | null;
  iou: number | null;
  precision: number | null;
  recall: number | null;
  hd: number | null;
  hd95: number | null;
  assd: number | null;
  nsd: number | null;
  empty_gt: number;
  empty_pred: number;
  masked_fraction: number | null;
  lesion_masked_fraction: number | null;
}

/** Bearer tokens of the evaluation API (schema 4): only the SHA-256 of each token. */
export interface ApiTokensTable {
  id: string;
  hash: string;
  role: string;
  label: string | null;
  created_at: string;
  revoked_at: string | null;
}

export interface StoreTables {
  experiments: ExperimentsTable;
  runs: RunsTable;
  epochs: EpochsTable;
  checkpoints: CheckpointsTable;
  cases: CasesTable;
  api_tokens: ApiTokensTable;
}

/** The tables in the order a copy must fill them (parents before children). */
export const STORE_TABLES = ['experiments', 'runs', 'epochs', 'checkpoints', 'cases', 'api_tokens'] as const;
