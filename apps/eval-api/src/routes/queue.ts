/**
 * POST /api/v1/queue: hands an experiment grid to the workers (issue 16), as
 * `mrlseg cv --config <file> --queue redis://...` does from a shell. Only a `runner` token may
 * (a reader gets 403 before the body is read); the grid is recorded in the store and queued by
 * `enqueueGrid`, so enqueueing the same config again adds nothing. A server started without
 * `--queue` answers 503.
 */
import { isAbsolute } from 'node:path';
import express, { Router } from 'express';
import { EnqueueRequestSchema, parseWith, type EnqueueResult, type ExperimentConfig } from '@mrlseg/types';
import { requireRole, type AuthIdentity } from '../auth';
import { badRequest, HttpError } from '../errors';

/** Where POST /api/v1/queue sends grids (server.ts binds it to the store and the Redis of --queue). */
export interface GridQueue {
  /** Records and queues a validated grid; `author` undefined: enqueueGrid's default. */
  enqueue(config: ExperimentConfig, author: string | undefined): Promise<EnqueueResult>;
  close(): Promise<void>;
}

export function queueRouter(queue: GridQueue | undefined): Router {
  const router = Router();
  router.post('/queue', requireRole('runner'), express.json({ limit: '256kb' }), async (req, res) => {
    if (!queue) throw new HttpError(503, 'no_queue', 'this server has no job queue: start mrlseg-api with --queue redis://host:port to enqueue grids');
    if (!req.is('application/json')) throw new HttpError(415, 'unsupported_media_type', 'send the grid as application/json: { "config": { ... }, "author"?: "..." }');
    const body = parseWith(EnqueueRequestSchema, req.body, 'enqueue request');
    const root = body.config.dataset.root;
    if (root !== undefined && !isAbsolute(root)) throw badRequest(`config.dataset.root must be an absolute path (the folder as the API and the workers see it), got '${root}'`);
    const who = res.locals.auth as AuthIdentity;
    const result = await queue.enqueue(body.config, body.author ?? (who.tokenId === null ? undefined : `token ${who.tokenId}`));
    res.status(result.addedJobs ? 202 : 200).json(result);
  });
  return router;
}
