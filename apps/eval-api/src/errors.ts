/**
 * The API's error model: every failure is a JSON body `{ error: { status, code, message, issues? } }`
 * (ApiErrorSchema in @mrlseg/types). Client mistakes map to 4xx here, so bad input never surfaces
 * as a 500; only a genuine server fault does, and its details are logged, not sent.
 */
import type { ErrorRequestHandler } from 'express';
import multer from 'multer';
import type { Logger } from 'pino';
import { ConfigError, type ApiError } from '@mrlseg/types';
import { ImageDecodeError } from '@mrlseg/data';

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly issues?: { path: string; message: string }[],
    readonly headers?: Record<string, string>,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

export const badRequest = (message: string, issues?: { path: string; message: string }[]) => new HttpError(400, 'bad_request', message, issues);
export const notFound = (message: string) => new HttpError(404, 'not_found', message);
export const unsupportedMedia = (message: string) => new HttpError(415, 'unsupported_media_type', message);

const MULTER_CODES: Record<string, [number, string]> = {
  LIMIT_FILE_SIZE: [413, 'payload_too_large'],
  LIMIT_PART_COUNT: [413, 'payload_too_large'],
  LIMIT_FILE_COUNT: [400, 'too_many_files'],
  LIMIT_FIELD_KEY: [400, 'bad_multipart'],
  LIMIT_FIELD_VALUE: [413, 'payload_too_large'],
  LIMIT_FIELD_COUNT: [400, 'bad_multipart'],
  LIMIT_UNEXPECTED_FILE: [400, 'unexpected_field'],
  MISSING_FIELD_NAME: [400, 'bad_multipart'],
};

/** Maps any thrown value to an HTTP status and error body. */
export function toHttpError(err: unknown): HttpError {
  if (err instanceof HttpError) return err;
  if (err instanceof ConfigError) return new HttpError(400, 'invalid_request', err.message, err.issues);
  if (err instanceof ImageDecodeError) return new HttpError(400, 'bad_image', err.message);
  if (err instanceof multer.MulterError) {
    const [status, code] = MULTER_CODES[err.code] ?? [400, 'bad_multipart'];
    const field = err.field ? ` (field '${err.field}')` : '';
    return new HttpError(status, code, `${err.message}${field}`);
  }
  const e = err as { status?: unknown; statusCode?: unknown; type?: unknown; message?: unknown; expose?: unknown };
  const status = typeof e?.status === 'number' ? e.status : typeof e?.statusCode === 'number' ? e.statusCode : undefined;
  // busboy (multer's parser) reports a malformed body as a plain Error.
  const msg = typeof e?.message === 'string' ? e.message : '';
  if (status === undefined && /^(Unexpected end of form|Malformed part header|Multipart: Boundary not found|Unexpected end of multipart data)/i.test(msg)) {
    return new HttpError(400, 'bad_multipart', `malformed multipart body: ${msg}`);
  }
  if (status !== undefined && status >= 400 && status < 500) {
    // body-parser / http-errors / express (e.g. a bad %-escape in the path) mark client errors with a status.
    const code = status === 413 ? 'payload_too_large' : status === 415 ? 'unsupported_media_type' : 'bad_request';
    return new HttpError(status, code, msg || 'bad request');
  }
  return new HttpError(500, 'internal_error', 'internal server error');
}

export function errorBody(e: HttpError): ApiError {
  return { error: { status: e.status, code: e.code, message: e.message, ...(e.issues ? { issues: e.issues } : {}) } };
}

/** Express error middleware: JSON errors, 5xx logged with the stack. */
export function errorHandler(log: Logger): ErrorRequestHandler {
  return (err, req, res, next) => {
    if (res.headersSent) return next(err);
    const h = toHttpError(err);
    if (h.status >= 500) log.error({ err, method: req.method, url: req.originalUrl }, 'request failed');
    else log.debug({ status: h.status, code: h.code, url: req.originalUrl }, h.message);
    for (const [k, v] of Object.entries(h.headers ?? {})) res.setHeader(k, v);
    res.status(h.status).json(errorBody(h));
  };
}
