/**
 * @mrlseg/eval-api: the evaluation API (Express 5) serving segmentation through onnxruntime-node,
 * metrics of uploaded masks and the results store, plus the built viewer. `mrlseg-api` runs it.
 */
export { createApp, DEFAULT_VIEWER_DIR, type AppContext } from './app';
export { startServer, createContext, type RunningServer } from './server';
export { parseServerArgs, ServerConfigSchema, USAGE, type ServerConfig } from './config';
export { authenticate, openAccess, requireRole, resolveAuth, isLoopbackHost, matchToken, bearerToken, AuthConfigError, AUTH_REALM, type AuthSettings, type AuthIdentity } from './auth';
export { AUTH_MODES, type AuthMode } from './config';
export { runTokenCommand, TokenUsageError, TOKEN_USAGE } from './token-cli';
export { HttpError, toHttpError, errorBody, errorHandler } from './errors';
export { InferenceQueue, type QueueStats } from './inference/queue';
export { InferenceWorkerPool, type OutputTensor, type ModelInfo } from './inference/worker-pool';
export { ModelRegistry, inputGeometry, type LoadedModel, type Layout } from './inference/models';
export { segment, decodeUpload, checkUpload, sniffImage, toInputTensor, outputPlane, type SegmentOutput, type DecodedUpload } from './inference/segment';
export { openApiDocument } from './openapi';
export { createLogger } from './logger';
export { API_VERSION } from './version';
