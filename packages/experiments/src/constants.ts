/**
 * @mrlseg/experiments/constants: the names and defaults of the results store, and telling a
 * PostgreSQL `--store` URL from a folder, importable without loading TensorFlow.js, SQLite,
 * PostgreSQL's driver or onnxruntime (the CLI's flag definitions and `--help` use them).
 */
export { DB_FILE, ARTIFACTS_DIR, DEFAULT_STORE_DIR, CASE_ARTIFACT_KINDS, type CaseArtifactKind } from './store/layout';
export { isPostgresUrl } from './store/locator';
