/**
 * @mrlseg/eval-api: the evaluation API (Express 5) serving segmentation through onnxruntime-node,
 * metrics of uploaded masks and the results store, plus the built viewer. `mrlseg-api` runs it.
 */
export { createApp, DEFAULT_VIEWER_DIR, type AppContext } from './app';
export { startServer, createContext, type RunningServer } from './server';
export { parseServerArgs, ServerConfigSchema, USAGE, type ServerConfig } from './config';
export { HttpError, toHttpError, errorBody } from './errors';
export { InferenceQueue, type QueueStats } from './inference/queue';
export { InferenceWorkerPool, type OutputTensor, type ModelInfo } from './inference/worker-pool';
export { ModelRegistry, inputGeometry, type LoadedModel, type Layout } from './inference/models';
export { segment, decodeUpload, checkUpload, sniffImage, toInputTensor, outputPlane, type SegmentOutput, type DecodedUpload } from './inference/segment';
export { openApiDocument } from './openapi';
export { createLogger } from './logger';
export { API_VERSION } from './version';
