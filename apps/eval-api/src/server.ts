/**
 * Starting and stopping the API: opens the store read-only, creates the model registry and the
 * inference queue, listens, and on close drains connections and releases ONNX sessions.
 */
import type { AddressInfo } from 'node:net';
import { availableParallelism } from 'node:os';
import type { Server } from 'node:http';
import { checkQueueReachable, enqueueGrid, isPostgresUrl, loadExperimentConfig, openStore, parseQueueUrl, type ResultsStore } from '@mrlseg/experiments';
import type { Logger } from 'pino';
import { createApp, DEFAULT_VIEWER_DIR, type AppContext } from './app';
import { resolveAuth } from './auth';
import type { ServerConfig } from './config';
import { ModelRegistry } from './inference/models';
import { InferenceQueue } from './inference/queue';
import { InferenceWorkerPool } from './inference/worker-pool';
import { HttpError } from './errors';
import { createLogger } from './logger';
import type { GridQueue } from './routes/queue';
import { experimentsReport } from './report';

export interface RunningServer {
  url: string;
  port: number;
  server: Server;
  context: AppContext;
  close(): Promise<void>;
}

/**
 * Builds the application context (store, models, queue, logger, authentication) for `cfg`.
 * @throws AuthConfigError (one line) when cfg would serve beyond loopback without a token to check.
 */
export async function createContext(cfg: ServerConfig, log: Logger = createLogger(cfg.logLevel)): Promise<AppContext> {
  if (cfg.queue !== undefined && !cfg.store) throw new Error('--queue needs --store: an enqueued grid is recorded in the results store the workers write to');
  // a malformed --queue fails here, at start, not at the first request
  const gridQueue = cfg.queue === undefined ? undefined : gridQueueFor(cfg.queue, cfg.store!, cfg.artifacts);
  let store: ResultsStore | undefined;
  if (cfg.store) {
    if (isPostgresUrl(cfg.store) && !cfg.artifacts) throw new Error('--artifacts <dir> is required with a PostgreSQL --store (the case PNGs and ONNX exports are read from there)');
    store = await openStore(cfg.store, { readonly: true, artifacts: cfg.artifacts });
  }
  let authOn: boolean;
  try {
    authOn = resolveAuth(cfg.auth, cfg.host, store ? (await store.activeApiTokens()).length : 0, store !== undefined);
  } catch (e) {
    await store?.close();
    throw e;
  }
  const tokenStore = store;
  // Concurrent inferences share the cores instead of each spawning a thread per core.
  const intraOpThreads = cfg.intraOpThreads > 0 ? cfg.intraOpThreads : Math.max(1, Math.floor(availableParallelism() / cfg.concurrency));
  const pool = new InferenceWorkerPool(cfg.concurrency, intraOpThreads);
  let registry: ModelRegistry;
  try {
    registry = new ModelRegistry({ defaultModel: cfg.model, store, fallbackSize: cfg.fallbackSize, pool });
  } catch (e) {
    await store?.close();
    throw e;
  }
  return {
    log,
    store,
    registry,
    queue: new InferenceQueue(cfg.concurrency, cfg.maxQueue),
    report: experimentsReport,
    maxUploadMb: cfg.maxUploadMb,
    maxPixels: cfg.maxPixels,
    rateLimit: cfg.rateLimit,
    cors: cfg.cors,
    viewerDir: cfg.viewer ?? DEFAULT_VIEWER_DIR,
    ...(authOn && tokenStore ? { auth: { tokens: () => tokenStore.activeApiTokens() } } : {}),
    ...(gridQueue ? { gridQueue } : {}),
  };
}

/**
 * POST /api/v1/queue's target: `enqueueGrid` on a read-write opening of the store (made at the
 * first request; the routes that read keep their read-only one) and the Redis of --queue.
 * Requests are handled one at a time, so two posts of one grid cannot both create its experiment.
 * An unreachable Redis is a 503 naming it.
 */
function gridQueueFor(queueUrl: string, storeLocation: string, artifacts: string | undefined): GridQueue {
  const target = parseQueueUrl(queueUrl);
  let writable: Promise<ResultsStore> | undefined;
  let last: Promise<unknown> = Promise.resolve();
  return {
    enqueue(config, author) {
      const next = last.then(async () => {
        const valid = loadExperimentConfig(undefined, config);
        try {
          await checkQueueReachable(target);
        } catch (e) {
          throw new HttpError(503, 'queue_unreachable', (e as Error).message);
        }
        writable ??= openStore(storeLocation, { artifacts });
        const store = await writable.catch((e: unknown) => {
          writable = undefined;
          throw e;
        });
        return enqueueGrid(valid, { store, queue: queueUrl, author });
      });
      last = next.catch(() => undefined);
      return next;
    },
    async close() {
      await last;
      const s = await writable?.catch(() => undefined);
      await s?.close();
    },
  };
}

/** Listens on cfg.host:cfg.port (0 = any free port) and resolves once accepting connections. */
export async function startServer(cfg: ServerConfig, context?: AppContext): Promise<RunningServer> {
  const ctx = context ?? (await createContext(cfg));
  const app = createApp(ctx);
  const server = await new Promise<Server>((resolve, reject) => {
    const s = app.listen(cfg.port, cfg.host, (err?: Error) => (err ? reject(err) : resolve(s)));
  });
  server.headersTimeout = 20_000;
  server.requestTimeout = 120_000;
  server.keepAliveTimeout = 5_000;
  const { port } = server.address() as AddressInfo;
  const host = cfg.host.includes(':') ? `[${cfg.host}]` : cfg.host;
  const url = `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`;
  let closing: Promise<void> | undefined;
  return {
    url,
    port,
    server,
    context: ctx,
    close() {
      closing ??= (async () => {
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeIdleConnections();
        });
        await ctx.registry.dispose();
        await ctx.gridQueue?.close();
        await ctx.store?.close();
      })();
      return closing;
    },
  };
}
