/** The results store's file layout: database file, artifacts folder, default folder, per-case PNG kinds. */
export const DB_FILE = 'mrlseg.sqlite';
export const ARTIFACTS_DIR = 'artifacts';
export const DEFAULT_STORE_DIR = 'mrlseg-store';

/** Per-case PNGs: input image, predicted mask, ground-truth mask, final RL action mask (white = masked). */
export const CASE_ARTIFACT_KINDS = ['image', 'prediction', 'groundTruth', 'actions'] as const;
export type CaseArtifactKind = (typeof CASE_ARTIFACT_KINDS)[number];
