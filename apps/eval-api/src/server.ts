/**
 * Starting and stopping the API: opens the store read-only, creates the model registry and the
 * inference queue, listens, and on close drains connections and releases ONNX sessions.
 */
import type { AddressInfo } from 'node:net';
import { availableParallelism } from 'node:os';
import type { Server } from 'node:http';
import { isPostgresUrl, openStore, type ResultsStore } from '@mrlseg/experiments';
import type { Logger } from 'pino';
import { createApp, DEFAULT_VIEWER_DIR, type AppContext } from './app';
import { resolveAuth } from './auth';
import type { ServerConfig } from './config';
import { ModelRegistry } from './inference/models';
import { InferenceQueue } from './inference/queue';
import { InferenceWorkerPool } from './inference/worker-pool';
import { createLogger } from './logger';
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
        await ctx.store?.close();
      })();
      return closing;
    },
  };
}
