export { GRID_QUEUE, gridExperimentId, planGrid, type GridJobData, type GridJob, type GridPlan } from './grid';
export { parseQueueUrl, checkQueueReachable, type RedisTarget } from './connection';
export { enqueueGrid, type EnqueueOptions, type EnqueueResult } from './enqueue';
export { startGridWorker, type GridWorker, type GridWorkerOptions } from './worker';
export { queueStatus, renderQueueStatus, type QueueStatus, type ExperimentQueueStatus, type ActiveJob, type FailedJob } from './status';
