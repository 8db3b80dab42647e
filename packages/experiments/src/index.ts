export {
  openStore,
  ResultsStore,
  CASE_ARTIFACT_KINDS,
  DEFAULT_STORE_DIR,
  DB_FILE,
  ARTIFACTS_DIR,
  type CaseArtifactKind,
  type OpenStoreOptions,
  type RunFilter,
  type CasesPage,
  type CheckpointRecord,
  type NewRun,
  type FinishRun,
} from './store/store';
export { MIGRATIONS, SCHEMA_VERSION, migrate, type Migration } from './store/migrations';
export { VARIANTS, variantSpec, applyVariant, variantComponents, type VariantSpec, type NetworkKind } from './config/variants';
export { loadExperimentConfig, canonicalJson, configHash, planRuns, runId, slug, type RunPlan } from './config/load-config';
export { gitCommit, packageVersions } from './config/provenance';
export type { ProgressEvent, ProgressListener, TrainPhase } from './pipeline/events';
