/**
 * The Express application: security headers (helmet), rate limiting, optional CORS, request
 * logs, the /api/v1 routes, the OpenAPI document, the built viewer at / (SPA fallback) and the
 * JSON error model. createApp has no side effects beyond the objects it is given, so tests build
 * one per suite over a temporary store.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import express, { type Express, type RequestHandler } from 'express';
import helmet from 'helmet';
import { rateLimit } from 'express-rate-limit';
import type { Logger } from 'pino';
import type { ResultsStore } from '@mrlseg/experiments';
import type { Health } from '@mrlseg/types';
import { authenticate, openAccess, type AuthSettings } from './auth';
import { errorHandler, HttpError, notFound } from './errors';
import { requestLog } from './logger';
import { openApiDocument } from './openapi';
import type { ModelRegistry } from './inference/models';
import type { InferenceQueue } from './inference/queue';
import { inferenceRouter } from './routes/inference';
import { queueRouter, type GridQueue } from './routes/queue';
import { noStoreRouter, storeRouter } from './routes/store';
import type { ReportRenderer } from './report';
import { API_VERSION } from './version';

export interface AppContext {
  log: Logger;
  store?: ResultsStore;
  registry: ModelRegistry;
  queue: InferenceQueue;
  report: ReportRenderer;
  maxUploadMb: number;
  maxPixels: number;
  /** Requests per minute per client IP on /api (0: unlimited). */
  rateLimit: number;
  /** Allowed CORS origin; CORS is off when absent. */
  cors?: string;
  /** Built viewer folder (served at / when it holds index.html). */
  viewerDir?: string;
  /** Bearer-token authentication of every /api/v1 route; off when absent (loopback, --auth none). */
  auth?: AuthSettings;
  /** Where POST /api/v1/queue sends grids (runner tokens); absent without --queue (503). */
  gridQueue?: GridQueue;
}

/** The viewer's build output in this repository (apps/viewer/dist). */
export const DEFAULT_VIEWER_DIR = resolve(import.meta.dirname, '..', '..', 'viewer', 'dist');

function corsFor(origin: string): RequestHandler {
  return (req, res, next) => {
    res.setHeader('Access-Control-Allow-Origin', origin);
    res.setHeader('Vary', 'Origin');
    if (req.method === 'OPTIONS') {
      res.setHeader('Access-Control-Allow-Methods', 'GET, POST, OPTIONS');
      res.setHeader('Access-Control-Allow-Headers', 'Content-Type, Authorization');
      res.setHeader('Access-Control-Max-Age', '600');
      res.status(204).end();
      return;
    }
    next();
  };
}

export function createApp(ctx: AppContext): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  app.set('etag', 'strong');
  app.use(
    helmet({
      contentSecurityPolicy: {
        directives: {
          // The viewer runs ONNX models in the browser (onnxruntime-web: WebAssembly, workers).
          'script-src': ["'self'", "'wasm-unsafe-eval'"],
          'worker-src': ["'self'", 'blob:'],
          'img-src': ["'self'", 'data:', 'blob:'],
          'connect-src': ["'self'", 'data:', 'blob:'],
          // Served over plain HTTP on a LAN too: upgrading subresources to https would break the viewer.
          'upgrade-insecure-requests': null,
        },
      },
      crossOriginEmbedderPolicy: false,
    }),
  );
  app.use(requestLog(ctx.log));

  const startedAt = Date.now();
  app.get('/health', (_req, res) => {
    const body: Health = {
      status: 'ok',
      version: API_VERSION,
      uptimeS: Math.round((Date.now() - startedAt) / 100) / 10,
      store: ctx.store?.backend ?? null,
      models: ctx.registry.loaded,
      queue: ctx.queue.stats,
    };
    res.json(body);
  });

  const api = express.Router();
  if (ctx.cors) api.use(corsFor(ctx.cors));
  if (ctx.rateLimit > 0) {
    api.use(
      rateLimit({
        windowMs: 60_000,
        limit: ctx.rateLimit,
        standardHeaders: 'draft-8',
        legacyHeaders: false,
        handler: (_req, _res, next) => next(new HttpError(429, 'rate_limited', `more than ${ctx.rateLimit} requests per minute from this client; slow down`, undefined, { 'Retry-After': '60' })),
      }),
    );
  }
  // Before every route, so an unauthenticated request learns nothing (not even whether a path or id exists).
  api.use(ctx.auth ? authenticate(ctx.auth) : openAccess());
  const doc = openApiDocument(API_VERSION);
  api.get('/openapi.json', (_req, res) => {
    res.json(doc);
  });
  api.use(inferenceRouter(ctx));
  api.use(queueRouter(ctx.gridQueue));
  if (ctx.store) {
    const store = ctx.store;
    api.use(storeRouter(() => store, ctx.report));
  } else {
    api.use(noStoreRouter());
  }
  api.use((req) => {
    throw notFound(`no route ${req.method} ${req.baseUrl}${req.path}`);
  });
  app.use('/api/v1', api);
  app.use('/api', (req) => {
    throw notFound(`no route ${req.method} ${req.originalUrl.split('?')[0]} (the API lives under /api/v1)`);
  });

  const viewer = ctx.viewerDir;
  if (viewer && existsSync(join(viewer, 'index.html'))) {
    app.use(express.static(viewer, { index: 'index.html', dotfiles: 'deny', fallthrough: true }));
    // Client-side routes of the single-page viewer get its index.html.
    app.get('/{*path}', (req, res, next) => {
      // Missing files (a path with an extension) stay 404; client routes get the page.
      if (/\.[A-Za-z0-9]+$/.test(req.path) || !req.accepts('html')) return next();
      res.sendFile(join(viewer, 'index.html'));
    });
  } else {
    app.get('/', (_req, res) => {
      res.type('text/plain').send('MRL-Seg evaluation API. The viewer is not built (npm run build -w @mrlseg/viewer). API: /api/v1/openapi.json\n');
    });
  }
  app.use((req) => {
    throw notFound(`no route ${req.method} ${req.path}`);
  });
  app.use(errorHandler(ctx.log));
  return app;
}
