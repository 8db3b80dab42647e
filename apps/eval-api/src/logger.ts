/** Structured logs: pino, one JSON object per line on stdout (silent in tests). */
import { pino, type Logger } from 'pino';
import type { RequestHandler } from 'express';

export function createLogger(level: string): Logger {
  return pino({ level, base: { service: 'mrlseg-api' } });
}

/** One log line per finished request: method, path (no query string), status, duration, and the token id (never the token) when one was accepted. */
export function requestLog(log: Logger): RequestHandler {
  return (req, res, next) => {
    const t0 = performance.now();
    res.on('finish', () => {
      const ms = Math.round((performance.now() - t0) * 10) / 10;
      const tokenId = (res.locals.auth as { tokenId?: string | null } | undefined)?.tokenId;
      const line = { method: req.method, path: req.path, status: res.statusCode, ms, ip: req.ip, ...(tokenId ? { tokenId } : {}) };
      if (res.statusCode >= 500) log.error(line, 'request');
      else log.info(line, 'request');
    });
    next();
  };
}
