export {
  openStore,
  CASE_ARTIFACT_KINDS,
  DEFAULT_STORE_DIR,
  DB_FILE,
  ARTIFACTS_DIR,
  type ResultsStore,
  type StoreBackend,
  type CaseArtifactKind,
  type OpenStoreOptions,
  type RunFilter,
  type CasesPage,
  type CheckpointRecord,
  type NewRun,
  type FinishRun,
} from './store/store';
export { API_TOKEN_ROLES, TOKEN_PREFIX, hashApiToken, generateApiToken, type ApiTokenRole, type ApiTokenRecord, type ActiveApiToken } from './store/tokens';
export { parseStoreLocation, isPostgresUrl, redactUrl, type StoreLocation } from './store/locator';
export { MIGRATIONS, SCHEMA_VERSION, READ_ONLY_MIN_VERSION, type Migration, type MigrationContext, type StoreDialect } from './store/migrations';
export { migrateSqlite } from './store/sqlite-engine';
export { copyStore, type CopyStoreOptions, type CopyStoreResult } from './store/copy';
export { VARIANTS, variantSpec, applyVariant, variantComponents, type VariantSpec, type NetworkKind } from './config/variants';
export { loadExperimentConfig, canonicalJson, configHash, planRuns, runId, slug, type RunPlan } from './config/load-config';
export { gitCommit, packageVersions } from './config/provenance';
export { inferenceMetadataOf, inferenceMetadataPropsOf, sliceAxisOfFormat } from './config/inference-metadata';
export type { ProgressEvent, ProgressListener, TrainPhase } from './pipeline/events';
export { learningRateAt } from './pipeline/schedule';
export {
  runExperiment,
  executeRun,
  exportRunOnnx,
  loadSlices,
  evaluateStoredRun,
  pretrainKey,
  sharedPretrain,
  defaultAuthor,
  type RunExperimentOptions,
  type ExperimentResult,
  type RunOutcome,
  type RunContext,
  type ExecuteRunOptions,
} from './pipeline/experiment';
export { trainRun, loadRunNets, modelSeed, buildSegModel, buildRlModel, segNetSizes, RunInterrupted, type RunPhases, type TrainRunInput, type TrainRunResult } from './pipeline/train-run';
export {
  predictSlices,
  caseRecord,
  agentFractions,
  summarizeAgentFractions,
  casePngs,
  evaluateAndStore,
  type CasePrediction,
  type EvalNets,
  type AgentFractionsSummary,
  type EvaluationSummary,
} from './pipeline/evaluate';
export { saveTrainState, readTrainState, loadTrainNets, loadTrainExtras, TRAIN_STATE_FORMAT, type TrainState } from './pipeline/checkpoint';
export { toSlice, epochOrder, batchesOf, makeBatch, makeImageBatch, type Slice } from './pipeline/batches';
export { buildReport, renderReport, compareAgainstBest, type Report, type ReportOptions, type ReportCell, type VariantSummary } from './report/build-report';
export { BENCHMARK_RL_INPUT, DEMO_CONFIG_INPUT, demoConfig } from './config/demo';
export { countMasked, maskedFractions, emptyMaskedCounts, falsePositiveComponents, gradientCosine, type MaskedCounts } from './pipeline/agent-instruments';
export { diagnoseRl, diagnosisTable, diagnosisSplit, type DiagnoseRlOptions, type DiagnoseRlRow } from './pipeline/diagnose-rl';
export * from './queue/index';
