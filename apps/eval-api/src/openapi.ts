/**
 * The OpenAPI 3.1 document of the API (served at /api/v1/openapi.json). Component schemas are
 * generated from the same zod schemas of @mrlseg/types that validate requests and shape
 * responses, so the document cannot drift from what the server checks.
 */
import { z } from 'zod';
import {
  ApiErrorSchema,
  CaseMetricRecordSchema,
  CasesQuerySchema,
  EpochRecordSchema,
  EvaluateQuerySchema,
  ExperimentRecordSchema,
  HealthSchema,
  IdSchema,
  ReportQuerySchema,
  RunRecordSchema,
  SegmentQuerySchema,
  SegmentResultSchema,
  EvaluateResultSchema,
  EnqueueRequestSchema,
  EnqueueResultSchema,
  pageSchema,
} from '@mrlseg/types';

type Json = Record<string, unknown>;

const schema = (s: z.ZodType, io: 'input' | 'output' = 'output'): Json => {
  const { $schema: _drop, ...rest } = z.toJSONSchema(s, { io, unrepresentable: 'any' }) as Json;
  return rest;
};

/** Query parameters of an object schema, one OpenAPI parameter per property. */
function queryParams(s: z.ZodObject): Json[] {
  const js = schema(s, 'input') as { properties?: Record<string, Json>; required?: string[] };
  return Object.entries(js.properties ?? {}).map(([name, p]) => ({
    name,
    in: 'query',
    required: js.required?.includes(name) ?? false,
    description: p.description,
    schema: p,
  }));
}

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (s: Json) => ({ 'application/json': { schema: s } });
const errors = (...codes: number[]) =>
  Object.fromEntries(codes.map((c) => [String(c), { description: ERROR_TEXT[c] ?? 'error', content: json(ref('ApiError')) }]));
const ERROR_TEXT: Record<number, string> = {
  400: 'invalid request (bad id, bad query, malformed multipart, corrupt image)',
  401: 'missing, unknown or revoked bearer token (when the server requires tokens; answered before any lookup)',
  403: 'the token is valid but its role may not use this route',
  404: 'no such run, case, artifact or model',
  413: 'upload over the size limit, or an image with too many pixels',
  415: 'not a PNG/JPEG image, or not multipart/form-data',
  429: 'rate limit exceeded',
  503: 'inference queue full or no model available; for POST /api/v1/queue: the server has no --queue, or its Redis is unreachable',
};
const idParam = (name: string, what: string) => ({ name, in: 'path', required: true, description: what, schema: schema(IdSchema) });
const png = (description: string) => ({ description, content: { 'image/png': { schema: { type: 'string', format: 'binary' } } } });

/** operationId per path (one operation each): stable names for generated clients. */
const OPERATION_IDS: Record<string, string> = {
  '/health': 'getHealth',
  '/api/v1/segment': 'segment',
  '/api/v1/evaluate': 'evaluate',
  '/api/v1/models': 'listModels',
  '/api/v1/experiments': 'listExperiments',
  '/api/v1/runs': 'listRuns',
  '/api/v1/runs/{id}': 'getRun',
  '/api/v1/runs/{id}/epochs': 'listRunEpochs',
  '/api/v1/runs/{id}/cases': 'listRunCases',
  '/api/v1/runs/{id}/cases/{caseId}': 'getCase',
  '/api/v1/runs/{id}/cases/{caseId}/image.png': 'getCaseImage',
  '/api/v1/runs/{id}/cases/{caseId}/prediction.png': 'getCasePrediction',
  '/api/v1/runs/{id}/cases/{caseId}/groundTruth.png': 'getCaseGroundTruth',
  '/api/v1/runs/{id}/cases/{caseId}/actions.png': 'getCaseActions',
  '/api/v1/runs/{id}/model.onnx': 'getRunModel',
  '/api/v1/runs/{id}/report': 'getRunReport',
  '/api/v1/openapi.json': 'getOpenApiDocument',
  '/api/v1/queue': 'enqueueGrid',
};

export function openApiDocument(version: string): Json {
  const runId = idParam('id', 'run id');
  const caseId = idParam('caseId', 'case id');
  const artifact = (kind: string, what: string) => ({
    get: { summary: `${what} of a case (PNG)`, parameters: [runId, caseId], responses: { 200: png(what), ...errors(400, 404) } },
  });
  const doc = {
    openapi: '3.1.0',
    info: {
      title: 'MRL-Seg evaluation API',
      version,
      description:
        'Segmentation with ONNX models (onnxruntime-node), metrics of uploaded masks, and read-only access to the MRL-Seg results store. Every error is JSON (ApiError). ' +
        'Every route but /health takes a bearer token (`Authorization: Bearer <token>`, made with `mrlseg-api token create`) whenever the server requires them: always beyond loopback, and with --auth required.',
      license: { name: 'MIT', identifier: 'MIT' },
    },
    // Relative to where this document is served: the server that answered it.
    servers: [{ url: '/', description: 'the server this document was fetched from' }],
    security: [{ bearerAuth: [] }],
    paths: {
      '/health': { get: { summary: 'liveness and queue state', responses: { 200: { description: 'ok', content: json(ref('Health')) } } } },
      '/api/v1/segment': {
        post: {
          summary: 'segment an image with an ONNX model',
          parameters: queryParams(SegmentQuerySchema),
          requestBody: {
            required: true,
            content: {
              'multipart/form-data': {
                schema: {
                  type: 'object',
                  required: ['image'],
                  properties: { image: { type: 'string', format: 'binary', description: 'PNG or JPEG (grey or RGB; RGB is converted to grey), or a DICOM image / NIfTI volume (one slice: see slice, axis, window)' }, model: { type: 'string' } },
                },
              },
            },
          },
          responses: {
            200: {
              description: 'the binary mask at the input size (format=png, 255 = foreground) or a JSON summary (format=json)',
              content: { 'image/png': { schema: { type: 'string', format: 'binary' } }, ...json(ref('SegmentResult')) },
            },
            ...errors(400, 404, 413, 415, 429, 503),
          },
        },
      },
      '/api/v1/evaluate': {
        post: {
          summary: 'metrics of a predicted mask against a ground-truth mask (packages/metrics)',
          parameters: queryParams(EvaluateQuerySchema),
          requestBody: {
            required: true,
            content: {
              'multipart/form-data': {
                schema: {
                  type: 'object',
                  required: ['prediction', 'groundTruth'],
                  properties: { prediction: { type: 'string', format: 'binary' }, groundTruth: { type: 'string', format: 'binary' } },
                },
              },
            },
          },
          responses: { 200: { description: 'metrics', content: json(ref('EvaluateResult')) }, ...errors(400, 413, 415, 429) },
        },
      },
      '/api/v1/models': { get: { summary: 'models a segment request may name', responses: { 200: { description: 'model keys', content: json({ type: 'object' }) } } } },
      '/api/v1/experiments': { get: { summary: 'experiments in the store', responses: { 200: { description: 'experiments', content: json({ type: 'object', properties: { items: { type: 'array', items: ref('ExperimentRecord') } } }) }, ...errors(404) } } },
      '/api/v1/runs': {
        get: {
          summary: 'runs in the store, each with its summary (mean Dice, HD and masked fraction over its evaluated cases)',
          parameters: [
            { name: 'experimentId', in: 'query', schema: { type: 'string' } },
            { name: 'variant', in: 'query', schema: { type: 'string' } },
            { name: 'status', in: 'query', schema: { type: 'string' } },
          ],
          responses: { 200: { description: 'runs', content: json({ type: 'object', properties: { items: { type: 'array', items: ref('RunRecord') } } }) }, ...errors(400, 404) },
        },
      },
      '/api/v1/runs/{id}': { get: { summary: 'one run', parameters: [runId], responses: { 200: { description: 'run', content: json(ref('RunRecord')) }, ...errors(400, 404) } } },
      '/api/v1/runs/{id}/epochs': {
        get: { summary: 'training curves', parameters: [runId], responses: { 200: { description: 'epochs', content: json({ type: 'object', properties: { items: { type: 'array', items: ref('EpochRecord') } } }) }, ...errors(400, 404) } },
      },
      '/api/v1/runs/{id}/cases': {
        get: { summary: 'per-case metrics, paged, sortable, filterable by fbRatio interval', parameters: [runId, ...queryParams(CasesQuerySchema)], responses: { 200: { description: 'a page of cases', content: json(ref('CasesPage')) }, ...errors(400, 404) } },
      },
      '/api/v1/runs/{id}/cases/{caseId}': { get: { summary: 'one case', parameters: [runId, caseId], responses: { 200: { description: 'case', content: json(ref('CaseMetricRecord')) }, ...errors(400, 404) } } },
      '/api/v1/runs/{id}/cases/{caseId}/image.png': artifact('image', 'input image'),
      '/api/v1/runs/{id}/cases/{caseId}/prediction.png': artifact('prediction', 'predicted mask'),
      '/api/v1/runs/{id}/cases/{caseId}/groundTruth.png': artifact('groundTruth', 'ground-truth mask'),
      '/api/v1/runs/{id}/cases/{caseId}/actions.png': artifact('actions', 'RL action mask (white = masked)'),
      '/api/v1/runs/{id}/model.onnx': {
        get: { summary: "the run's ONNX export (for onnxruntime-web)", parameters: [runId], responses: { 200: { description: 'ONNX model', content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } } }, ...errors(400, 404) } },
      },
      '/api/v1/runs/{id}/report': {
        get: {
          summary: "report tables of the run's experiment",
          parameters: [runId, ...queryParams(ReportQuerySchema)],
          responses: {
            200: { description: 'report', content: { 'text/markdown': { schema: { type: 'string' } }, 'text/csv': { schema: { type: 'string' } }, 'application/x-latex': { schema: { type: 'string' } }, 'application/json': { schema: { type: 'object' } } } },
            ...errors(400, 404),
          },
        },
      },
      '/api/v1/openapi.json': { get: { summary: 'this document', responses: { 200: { description: 'OpenAPI 3.1', content: json({ type: 'object' }) } } } },
      '/api/v1/queue': {
        post: {
          summary: 'enqueue an experiment grid for the workers (runner tokens only)',
          description:
            'Records the grid (variants x folds x seeds) of the config in the store and adds one job per run, per shared pre-training and a report job to the Redis of --queue, ' +
            'as `mrlseg cv --config <file> --queue redis://...` does; `mrlseg worker` processes take them. The experiment id comes from the config, so posting the same grid again adds nothing (200 instead of 202). Needs a runner token: a reader gets 403.',
          'x-required-role': 'runner',
          requestBody: { required: true, content: json(ref('EnqueueRequest')) },
          responses: {
            200: { description: 'the grid was already queued: nothing added', content: json(ref('EnqueueResult')) },
            202: { description: 'the grid was recorded and its jobs queued', content: json(ref('EnqueueResult')) },
            ...errors(400, 403, 413, 415, 503),
          },
        },
      },
    },
    components: {
      schemas: {
        ApiError: schema(ApiErrorSchema),
        Health: schema(HealthSchema),
        SegmentResult: schema(SegmentResultSchema),
        EvaluateResult: schema(EvaluateResultSchema),
        ExperimentRecord: schema(ExperimentRecordSchema),
        RunRecord: schema(RunRecordSchema),
        EpochRecord: schema(EpochRecordSchema),
        CaseMetricRecord: schema(CaseMetricRecordSchema),
        CasesPage: schema(pageSchema(CaseMetricRecordSchema)),
        EnqueueRequest: schema(EnqueueRequestSchema, 'input'),
        EnqueueResult: schema(EnqueueResultSchema),
      },
      securitySchemes: {
        bearerAuth: {
          type: 'http',
          scheme: 'bearer',
          description: 'An API token from `mrlseg-api token create --role reader|runner --store <dir>` (the store keeps only its SHA-256). reader: every route here; runner: also the routes that enqueue work.',
        },
      },
    },
  };
  // /health answers anyone (load balancers, uptime checks); every other operation may answer 401.
  for (const [path, item] of Object.entries(doc.paths) as [string, Record<string, { responses: Json; security?: unknown[]; operationId?: string }>][]) {
    for (const op of Object.values(item)) {
      op.operationId = OPERATION_IDS[path];
      if (path === '/health') op.security = [];
      else Object.assign(op.responses, errors(401));
    }
  }
  return doc;
}
