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
