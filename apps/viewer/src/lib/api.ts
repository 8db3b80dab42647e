/**
 * The viewer's only data source: the evaluation API (`apps/eval-api`), same origin. Responses are
 * validated with the shared zod schemas of `@mrlseg/types`, so a server/viewer mismatch shows as a
 * clear error naming the endpoint instead of a blank page.
 *
 * Authentication: every request (JSON, PNGs, the ONNX model, report downloads) goes through
 * fetch with `Authorization: Bearer <token>` when a token is stored (lib/token.ts, sessionStorage).
 * Images are never `<img src>`: they are fetched as bytes and decoded onto canvases, and downloads
 * become blob URLs, so no token ever appears in a URL. A 401 forgets a rejected token and tells the
 * listeners (the app shows its token prompt).
 */
import { sessionTokenStore, type TokenStore } from './token';
import {
  CaseMetricRecordSchema,
  EpochRecordSchema,
  ExperimentRecordSchema,
  pageSchema,
  RunRecordSchema,
  type CaseMetricRecord,
  type CasesQuery,
  type EpochRecord,
  type ExperimentRecord,
  type ReportFormat,
  type RunRecord,
} from '@mrlseg/types';

export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly url: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** One page of a run's cases, as `GET /api/v1/runs/:id/cases` answers it. */
export interface CasesPage {
  items: CaseMetricRecord[];
  total: number;
  page: number;
  pageSize: number;
}

export type CaseImageKind = 'image' | 'prediction' | 'groundTruth' | 'actions';

/** The part of a zod schema the client uses (keeps zod itself out of the viewer's dependencies). */
interface Schema<T> {
  safeParse(v: unknown): { success: true; data: T } | { success: false; error: { issues: { path: PropertyKey[]; message: string }[] } };
}

/** `{ items, total, page, pageSize }`, the page shape of @mrlseg/types that the API answers with. */
const CASES_PAGE = pageSchema(CaseMetricRecordSchema) as unknown as Schema<CasesPage>;

type FetchFn = (input: string, init?: RequestInit) => Promise<Response>;

/** Unwraps the API's list answers, `{ items: [...] }`, validating each item. */
function listOf<T>(schema: Schema<T>, body: unknown, keys: string[], url: string): T[] {
  let arr: unknown = body;
  if (!Array.isArray(body) && body && typeof body === 'object') {
    const key = keys.find((k) => Array.isArray((body as Record<string, unknown>)[k]));
    arr = key ? (body as Record<string, unknown>)[key] : undefined;
  }
  if (!Array.isArray(arr)) throw new ApiError(`${url}: expected a list (${keys.join(' or ')}), got ${typeof body}`, 200, url);
  return arr.map((item, i) => {
    const parsed = schema.safeParse(item);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new ApiError(`${url}: item ${i} field '${issue.path.map(String).join('.')}': ${issue.message}`, 200, url);
    }
    return parsed.data;
  });
}

function one<T>(schema: Schema<T>, body: unknown, keys: string[], url: string): T {
  let obj = body;
  if (body && typeof body === 'object') {
    const key = keys.find((k) => (body as Record<string, unknown>)[k] && typeof (body as Record<string, unknown>)[k] === 'object');
    if (key) obj = (body as Record<string, unknown>)[key];
  }
  const parsed = schema.safeParse(obj);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ApiError(`${url}: field '${issue.path.map(String).join('.')}': ${issue.message}`, 200, url);
  }
  return parsed.data;
}

/** What a 401 tells the app: whether a token had been sent (and was refused) or none was. */
export interface AuthRequired {
  rejected: boolean;
}

export class ApiClient {
  private readonly authListeners = new Set<(e: AuthRequired) => void>();

  constructor(
    readonly base = '',
    private readonly fetchFn: FetchFn = (input, init) => fetch(input, init),
    readonly tokens: TokenStore = sessionTokenStore(),
  ) {}

  url(path: string): string {
    return `${this.base}${path}`;
  }

  /** Calls `listener` whenever the API answers 401; returns the unsubscribe function. */
  onAuthRequired(listener: (e: AuthRequired) => void): () => void {
    this.authListeners.add(listener);
    return () => this.authListeners.delete(listener);
  }

  /** fetch with the stored token; on 401 forgets a refused token and notifies the listeners. */
  private async send(url: string, signal: AbortSignal | undefined, headers: Record<string, string> = {}): Promise<Response> {
    const token = this.tokens.get();
    let res: Response;
    try {
      res = await this.fetchFn(url, { signal, headers: token ? { ...headers, Authorization: `Bearer ${token}` } : headers });
    } catch (err) {
      if ((err as Error).name === 'AbortError') throw err;
      throw new ApiError(`${url}: the API cannot be reached (${(err as Error).message})`, 0, url);
    }
    if (res.status === 401) {
      if (token !== null && this.tokens.get() === token) this.tokens.clear();
      for (const l of this.authListeners) l({ rejected: token !== null });
    }
    return res;
  }

  async json(path: string, signal?: AbortSignal): Promise<unknown> {
    const url = this.url(path);
    const res = await this.send(url, signal, { Accept: 'application/json' });
    const text = await res.text();
    let body: unknown = null;
    try {
      body = text ? JSON.parse(text) : null;
    } catch {
      if (res.ok) throw new ApiError(`${url}: the answer is not JSON`, res.status, url);
    }
    if (!res.ok) {
      const b = body as { error?: unknown; message?: unknown } | null;
      const detail = typeof b?.error === 'string' ? b.error : typeof b?.message === 'string' ? b.message : (b?.error as { message?: string })?.message;
      throw new ApiError(`${url}: HTTP ${res.status}${detail ? ` - ${detail}` : ''}`, res.status, url);
    }
    return body;
  }

  async experiments(signal?: AbortSignal): Promise<ExperimentRecord[]> {
    const p = '/api/v1/experiments';
    return listOf(ExperimentRecordSchema, await this.json(p, signal), ['items'], p);
  }

  async runs(signal?: AbortSignal): Promise<RunRecord[]> {
    const p = '/api/v1/runs';
    return listOf(RunRecordSchema, await this.json(p, signal), ['items'], p);
  }

  async run(id: string, signal?: AbortSignal): Promise<RunRecord> {
    const p = `/api/v1/runs/${encodeURIComponent(id)}`;
    return one(RunRecordSchema, await this.json(p, signal), [], p);
  }

  async cases(runId: string, query: Partial<CasesQuery>, signal?: AbortSignal): Promise<CasesPage> {
    const qs = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== '') qs.set(k, String(v));
    const p = `/api/v1/runs/${encodeURIComponent(runId)}/cases${qs.size ? `?${qs}` : ''}`;
    return one(CASES_PAGE, await this.json(p, signal), [], p);
  }

  /** Every case of a run (pages of 500, the API's maximum). */
  async allCases(runId: string, signal?: AbortSignal): Promise<CaseMetricRecord[]> {
    const out: CaseMetricRecord[] = [];
    for (let page = 1; ; page++) {
      const res = await this.cases(runId, { page, pageSize: 500, sort: 'caseId', order: 'asc' }, signal);
      out.push(...res.items);
      if (res.items.length === 0 || out.length >= res.total || res.items.length < 500) return out;
    }
  }

  async epochs(runId: string, signal?: AbortSignal): Promise<EpochRecord[]> {
    const p = `/api/v1/runs/${encodeURIComponent(runId)}/epochs`;
    return listOf(EpochRecordSchema, await this.json(p, signal), ['items'], p);
  }

  caseImageUrl(runId: string, caseId: string, kind: CaseImageKind): string {
    return this.url(`/api/v1/runs/${encodeURIComponent(runId)}/cases/${encodeURIComponent(caseId)}/${kind}.png`);
  }

  reportUrl(runId: string, format: ReportFormat): string {
    return this.url(`/api/v1/runs/${encodeURIComponent(runId)}/report?format=${format}`);
  }

  modelUrl(runId: string): string {
    return this.url(`/api/v1/runs/${encodeURIComponent(runId)}/model.onnx`);
  }

  /** Raw bytes (PNG masks, the ONNX model); null on 404 (e.g. no action mask for a non-RL run). */
  async bytes(url: string, signal?: AbortSignal): Promise<ArrayBuffer | null> {
    const res = await this.send(url, signal);
    if (res.status === 404) return null;
    if (!res.ok) throw new ApiError(`${url}: HTTP ${res.status}`, res.status, url);
    return res.arrayBuffer();
  }

  /**
   * Saves `url` as a file named `filename` (the report downloads): fetched with the token, handed
   * to the browser as a short-lived blob URL (an `<a href>` to the API could not send the header).
   */
  async download(url: string, filename: string): Promise<void> {
    const res = await this.send(url, undefined);
    if (!res.ok) throw new ApiError(`${url}: HTTP ${res.status}`, res.status, url);
    const blobUrl = URL.createObjectURL(await res.blob());
    try {
      const a = document.createElement('a');
      a.href = blobUrl;
      a.download = filename;
      document.body.appendChild(a);
      a.click();
      a.remove();
    } finally {
      // The click has started the download; revoking on the next tick keeps the URL short-lived.
      setTimeout(() => URL.revokeObjectURL(blobUrl), 0);
    }
  }
}
