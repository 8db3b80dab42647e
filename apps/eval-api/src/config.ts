/**
 * Server settings: one zod schema, filled from command-line flags (`mrlseg-api --port ...`)
 * and the environment (PORT).
 */
import { parseArgs } from 'node:util';
import { availableParallelism } from 'node:os';
import { z } from 'zod';
import { parseWith } from '@mrlseg/types';

/** `--auth`: auto (tokens required beyond loopback), required (always), none (never; explicit). */
export const AUTH_MODES = ['auto', 'required', 'none'] as const;
export type AuthMode = (typeof AUTH_MODES)[number];

export const ServerConfigSchema = z.object({
  port: z.coerce.number().int().min(0).max(65535).default(8080).describe('0: any free port'),
  host: z.string().min(1).default('127.0.0.1').describe('interface to listen on (0.0.0.0 for every interface)'),
  store: z.string().min(1).optional().describe('results store: a folder (SQLite) or postgres://user@host:port/database (opened read-only)'),
  artifacts: z.string().min(1).optional().describe('artifacts folder (default <store>/artifacts for a folder store; required with PostgreSQL)'),
  model: z.string().min(1).optional().describe('an ONNX model served as "default"'),
  queue: z.string().min(1).optional().describe('Redis of the job grid (redis://host:port[/db]): POST /api/v1/queue enqueues grids there for runner tokens'),
  maxUploadMb: z.coerce.number().positive().max(1024).default(20).describe('largest accepted upload per file, MB'),
  maxPixels: z.coerce.number().int().positive().default(40_000_000).describe('largest accepted image, in pixels'),
  rateLimit: z.coerce.number().int().min(0).default(1200).describe('requests per minute per client IP on /api (0: no limit); generous so the viewer can page through case images'),
  concurrency: z.coerce.number().int().min(1).max(64).default(Math.max(1, Math.min(4, availableParallelism()))).describe('inferences running at once'),
  maxQueue: z.coerce.number().int().min(0).default(256).describe('inferences allowed to wait; beyond that 503'),
  intraOpThreads: z.coerce.number().int().min(0).default(0).describe('onnxruntime threads per inference (0: cores / concurrency)'),
  fallbackSize: z.coerce.number().int().min(8).max(4096).default(256).describe('model input size when the ONNX graph leaves it symbolic'),
  cors: z.string().min(1).optional().describe('allowed origin for CORS (off when absent)'),
  viewer: z.string().min(1).optional().describe('built viewer folder served at / (default apps/viewer/dist)'),
  auth: z.enum(AUTH_MODES).default('auto').describe('bearer tokens on /api/v1: auto (required beyond loopback), required, none'),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});
export type ServerConfig = z.infer<typeof ServerConfigSchema>;

export const USAGE = `Usage: mrlseg-api [--port <p>] [--host <addr>] [--store <dir>|postgres://...] [--artifacts <dir>] [--model <model.onnx>]
                  [--queue redis://host:port]
                  [--max-upload-mb 20] [--rate-limit 1200] [--concurrency n] [--max-queue 256]
                  [--cors <origin>] [--viewer <dir>] [--auth auto|required|none] [--log-level info]
       mrlseg-api token create --role reader|runner --store <dir> [--label <text>]
       mrlseg-api token list --store <dir> [--json]
       mrlseg-api token revoke <id> --store <dir>
Serves segmentation (onnxruntime-node), metrics and the results store over HTTP, and the viewer at /.
Without --model it serves the ONNX exports recorded in the store. PORT is honoured when --port is absent.
--auth auto (default): /api/v1 needs a bearer token from the store whenever --host is not loopback;
the server refuses to start beyond loopback without one (or an explicit --auth none).
--queue: runner tokens may enqueue experiment grids (POST /api/v1/queue) for mrlseg workers.`;

/** Parses argv (without node and script) and the environment into a validated ServerConfig. */
export function parseServerArgs(argv: string[], env: NodeJS.ProcessEnv = process.env): ServerConfig | 'help' {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      store: { type: 'string' },
      artifacts: { type: 'string' },
      model: { type: 'string' },
      queue: { type: 'string' },
      'max-upload-mb': { type: 'string' },
      'max-pixels': { type: 'string' },
      'rate-limit': { type: 'string' },
      concurrency: { type: 'string' },
      'max-queue': { type: 'string' },
      'intra-op-threads': { type: 'string' },
      'fallback-size': { type: 'string' },
      cors: { type: 'string' },
      viewer: { type: 'string' },
      auth: { type: 'string' },
      'log-level': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return 'help';
  return parseWith(
    ServerConfigSchema,
    {
      port: values.port ?? env.PORT,
      host: values.host,
      store: values.store,
      artifacts: values.artifacts,
      model: values.model,
      queue: values.queue,
      maxUploadMb: values['max-upload-mb'],
      maxPixels: values['max-pixels'],
      rateLimit: values['rate-limit'],
      concurrency: values.concurrency,
      maxQueue: values['max-queue'],
      intraOpThreads: values['intra-op-threads'],
      fallbackSize: values['fallback-size'],
      cors: values.cors,
      viewer: values.viewer,
      auth: values.auth,
      logLevel: values['log-level'],
    },
    'mrlseg-api options',
  );
}
