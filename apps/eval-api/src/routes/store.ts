/**
 * Read-only routes over the results store: experiments, runs, per-case metrics (paged, sorted,
 * filtered by fbRatio interval), case PNGs, training curves, the run's ONNX export and reports.
 * Ids are validated with IdSchema (400), so `..`, separators and absolute paths never reach the
 * file system; files are resolved by the store (caseArtifactPath keeps them inside artifacts/).
 */
import { existsSync, statSync } from 'node:fs';
import { isAbsolute, relative } from 'node:path';
import { Router, type Request, type Response } from 'express';
import { CASE_ARTIFACT_KINDS, type CaseArtifactKind, type ResultsStore } from '@mrlseg/experiments';
import { CasesQuerySchema, IdSchema, ReportQuerySchema, RUN_STATUSES, parseWith, type RunRecord } from '@mrlseg/types';
import { z } from 'zod';
import { badRequest, HttpError, notFound } from '../errors';
import type { ReportRenderer } from '../report';

const RunsQuerySchema = z.object({
  experimentId: IdSchema.optional(),
  variant: z.string().min(1).max(64).optional(),
  status: z.enum(RUN_STATUSES).optional(),
});

function id(req: Request, name: 'id' | 'caseId'): string {
  const raw = req.params[name];
  const r = IdSchema.safeParse(raw);
  if (!r.success) throw badRequest(`${name === 'id' ? 'run id' : 'case id'} '${String(raw).slice(0, 80)}' ${r.error.issues[0]?.message ?? 'is not a plain id'}`);
  return r.data;
}

/** A run as served: file paths relative to the artifacts folder (never the server's absolute paths) plus links. */
export function runView(store: ResultsStore, run: RunRecord) {
  const rel = (p: string | null) => {
    if (p === null || store.artifactsDir === null) return null;
    const r = relative(store.artifactsDir, p);
    return r.startsWith('..') || isAbsolute(r) ? null : r.split('\\').join('/');
  };
  const hasModel = run.onnxPath !== null && existsSync(run.onnxPath);
  return {
    ...run,
    checkpointPath: rel(run.checkpointPath),
    onnxPath: rel(run.onnxPath),
    links: {
      self: `/api/v1/runs/${encodeURIComponent(run.id)}`,
      cases: `/api/v1/runs/${encodeURIComponent(run.id)}/cases`,
      epochs: `/api/v1/runs/${encodeURIComponent(run.id)}/epochs`,
      report: `/api/v1/runs/${encodeURIComponent(run.id)}/report`,
      model: hasModel ? `/api/v1/runs/${encodeURIComponent(run.id)}/model.onnx` : null,
    },
  };
}

function sendStoreFile(res: Response, path: string, type: string, what: string): Promise<void> {
  if (!existsSync(path) || !statSync(path).isFile()) throw notFound(`${what}: not in the store`);
  return new Promise((resolve, reject) => {
    res.type(type);
    res.setHeader('Cache-Control', 'no-cache');
    res.sendFile(path, { dotfiles: 'deny' }, (err) => (err ? reject(err) : resolve()));
  });
}

export function storeRouter(getStore: () => ResultsStore, report: ReportRenderer): Router {
  const r = Router();
  const run = async (req: Request) => {
    const runId = id(req, 'id');
    const rec = await getStore().getRun(runId);
    if (!rec) throw notFound(`run '${runId}' not found`);
    return rec;
  };

  r.get('/experiments', async (_req, res) => {
    res.json({ items: await getStore().listExperiments() });
  });

  r.get('/runs', async (req, res) => {
    const q = parseWith(RunsQuerySchema, req.query, 'runs query');
    const store = getStore();
    res.json({ items: (await store.listRuns(q)).map((x) => runView(store, x)) });
  });

  r.get('/runs/:id', async (req, res) => {
    res.json(runView(getStore(), await run(req)));
  });

  r.get('/runs/:id/epochs', async (req, res) => {
    res.json({ items: await getStore().epochs((await run(req)).id) });
  });

  r.get('/runs/:id/cases', async (req, res) => {
    const rec = await run(req);
    const q = parseWith(CasesQuerySchema, req.query, 'cases query');
    res.json(await getStore().listCases(rec.id, q));
  });

  r.get('/runs/:id/cases/:caseId', async (req, res) => {
    const rec = await run(req);
    const caseId = id(req, 'caseId');
    // `<caseId>.png`-style names that are not artifacts fall through to here and are ids.
    const c = await getStore().getCase(rec.id, caseId);
    if (!c) throw notFound(`case '${caseId}' not found in run '${rec.id}'`);
    const base = `/api/v1/runs/${encodeURIComponent(rec.id)}/cases/${encodeURIComponent(caseId)}`;
    res.json({ ...c, links: Object.fromEntries(CASE_ARTIFACT_KINDS.map((k) => [k, `${base}/${k}.png`])) });
  });

  r.get('/runs/:id/cases/:caseId/:artifact', async (req, res) => {
    const rec = await run(req);
    const caseId = id(req, 'caseId');
    const m = /^(.+)\.png$/.exec(req.params.artifact);
    const kind = m?.[1] as CaseArtifactKind | undefined;
    if (!kind || !(CASE_ARTIFACT_KINDS as readonly string[]).includes(kind)) {
      throw notFound(`no artifact '${String(req.params.artifact).slice(0, 80)}'; one of ${CASE_ARTIFACT_KINDS.map((k) => `${k}.png`).join(', ')}`);
    }
    const store = getStore();
    if (!(await store.getCase(rec.id, caseId))) throw notFound(`case '${caseId}' not found in run '${rec.id}'`);
    await sendStoreFile(res, store.caseArtifactPath(rec.id, caseId, kind), 'image/png', `${kind}.png of case '${caseId}'`);
  });

  r.get('/runs/:id/model.onnx', async (req, res) => {
    const rec = await run(req);
    if (!rec.onnxPath) throw notFound(`run '${rec.id}' has no ONNX export`);
    res.setHeader('Content-Disposition', `attachment; filename="${rec.id.replace(/[^A-Za-z0-9_.-]/g, '_')}.onnx"`);
    await sendStoreFile(res, rec.onnxPath, 'application/octet-stream', `ONNX export of run '${rec.id}'`);
  });

  r.get('/runs/:id/report', async (req, res) => {
    const rec = await run(req);
    const q = parseWith(ReportQuerySchema, req.query, 'report query');
    const out = await report(getStore(), rec, q.format);
    res.setHeader('Content-Type', out.contentType);
    res.send(out.body);
  });

  return r;
}

/** Used when the server runs without --store: every store route answers 404 with the reason. */
export function noStoreRouter(): Router {
  const r = Router();
  r.use(() => {
    throw new HttpError(404, 'no_store', 'this server was started without --store: there are no experiments or runs to serve');
  });
  return r;
}
