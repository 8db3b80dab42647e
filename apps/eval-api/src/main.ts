/**
 * `mrlseg-api`: the evaluation API's command line (bin/mrlseg-api.mjs runs this file).
 * Bad flags print the reason and the usage and exit 2; SIGINT/SIGTERM close the server cleanly.
 */
import { ConfigError } from '@mrlseg/types';
import { parseServerArgs, USAGE } from './config';

async function main(): Promise<number> {
  if (process.argv[2] === 'token') {
    const { runTokenCommand, TokenUsageError, TOKEN_USAGE } = await import('./token-cli');
    try {
      return await runTokenCommand(process.argv.slice(3));
    } catch (e) {
      if (e instanceof TokenUsageError) {
        process.stderr.write(`mrlseg-api: ${e.message}\n\n${TOKEN_USAGE}\n`);
        return 2;
      }
      process.stderr.write(`mrlseg-api: ${(e as Error).message}\n`);
      return 1;
    }
  }
  let cfg;
  try {
    cfg = parseServerArgs(process.argv.slice(2));
  } catch (e) {
    const msg = e instanceof ConfigError || e instanceof TypeError ? e.message : String(e);
    process.stderr.write(`mrlseg-api: ${msg}\n\n${USAGE}\n`);
    return 2;
  }
  if (cfg === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  // Loaded only once the flags are valid: --help and flag errors answer without loading
  // onnxruntime, sharp and the database drivers.
  const { createContext, startServer } = await import('./server');
  const { createLogger } = await import('./logger');
  const { isLoopbackHost } = await import('./auth');
  const log = createLogger(cfg.logLevel);
  let running;
  try {
    running = await startServer(cfg, await createContext(cfg, log));
  } catch (e) {
    process.stderr.write(`mrlseg-api: ${(e as Error).message}\n`);
    return 1;
  }
  const models = (await running.context.registry.available()).map((m) => m.key);
  const auth = running.context.auth ? 'bearer tokens' : 'off';
  log.info({ url: running.url, store: running.context.store?.location ?? null, models, viewer: running.context.viewerDir, auth }, 'listening');
  process.stderr.write(`mrlseg-api listening on ${running.url} (OpenAPI: ${running.url}/api/v1/openapi.json; authentication: ${auth})
`);
  if (!running.context.auth && !isLoopbackHost(cfg.host)) {
    process.stderr.write(`mrlseg-api: warning: --auth none on ${cfg.host}: anyone who can reach this port reads the whole store
`);
  }
  await new Promise<void>((resolve) => {
    const stop = (sig: string) => {
      log.info({ signal: sig }, 'shutting down');
      void running.close().then(resolve);
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
  return 0;
}

process.exitCode = await main();
