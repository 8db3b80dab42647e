/**
 * Multipart uploads (multer, in memory): per-file size limit (413 beyond it), a handful of parts
 * and small text fields only, and a 415 for requests that are not multipart/form-data at all.
 */
import type { RequestHandler } from 'express';
import multer from 'multer';
import { HttpError } from './errors';

export interface UploadLimits {
  maxUploadMb: number;
}

/** Middleware accepting exactly the named file fields (one file each) and up to 8 short text fields. */
export function multipartFiles(fields: string[], limits: UploadLimits): RequestHandler {
  const parser = multer({
    storage: multer.memoryStorage(),
    limits: {
      fileSize: Math.floor(limits.maxUploadMb * 1024 * 1024),
      files: fields.length,
      fields: 8,
      fieldSize: 1024,
      fieldNameSize: 64,
      parts: fields.length + 8,
      headerPairs: 100,
    },
  }).fields(fields.map((name) => ({ name, maxCount: 1 })));
  return (req, res, next) => {
    if (!req.is('multipart/form-data')) {
      next(new HttpError(415, 'unsupported_media_type', `expected a multipart/form-data body with file field(s) ${fields.map((f) => `'${f}'`).join(', ')}`));
      return;
    }
    parser(req, res, next);
  };
}

/** The bytes of an uploaded file field, or a 400 naming the missing field. */
export function uploadedFile(files: unknown, field: string): Uint8Array {
  const f = (files as Record<string, Express.Multer.File[] | undefined> | undefined)?.[field]?.[0];
  if (!f) throw new HttpError(400, 'missing_field', `multipart field '${field}' (a file) is required`);
  if (f.size === 0) throw new HttpError(400, 'bad_image', `multipart field '${field}' is empty`);
  return new Uint8Array(f.buffer.buffer, f.buffer.byteOffset, f.buffer.byteLength);
}
