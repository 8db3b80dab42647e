import { intervalLabels } from '@mrlseg/metrics';
import type { CaseMetricRecord, RunRecord } from '@mrlseg/types';
import { useCallback, useEffect, useMemo } from 'react';
import { intervalSpecOf, variantLabel } from '../lib/tables';
import { useAsync } from '../lib/use-async';
import type { CaseSortKey, Navigate, ViewState } from '../lib/url-state';
import { ScatterPlot } from '../plots/ScatterPlot';
import { CaseViewer } from './CaseViewer';
import { useApi } from './context';
import { Async, fmt } from './Status';

export const PAGE_SIZE = 25;

const SORTS: [CaseSortKey, string][] = [
  ['caseId', 'Case'],
  ['fbRatio', 'fbRatio'],
  ['dice', 'Dice'],
  ['iou', 'IoU'],
  ['hd', 'HD'],
  ['hd95', 'HD95'],
];

/** The case browser of one run: interval filter, sort by Dice/HD/..., pages, the case view, keyboard navigation. */
export function CasesView({ run, state, navigate }: { run: RunRecord; state: ViewState; navigate: Navigate }) {
  const api = useApi();
  const query = { page: state.page, pageSize: PAGE_SIZE, sort: state.sort, order: state.order, interval: state.interval };
  const page = useAsync((signal) => api.cases(run.id, query, signal), [run.id, JSON.stringify(query), api]);
  const all = useAsync((signal) => api.allCases(run.id, signal), [run.id, api]);
  const labels = intervalLabels(intervalSpecOf(run));
  const items = page.data?.items ?? [];
  const total = page.data?.total ?? 0;
  const pages = Math.max(1, Math.ceil(total / PAGE_SIZE));
  // Without a case in the URL the first case of the page is open, so the tab never starts empty.
  const selectedId = state.caseId ?? items[0]?.caseId;
  const idx = items.findIndex((c) => c.caseId === selectedId);
  const current: CaseMetricRecord | undefined = idx >= 0 ? items[idx] : all.data?.find((c) => c.caseId === selectedId);

  /** Moves by one case in the current filter and sort order, across pages. */
  const step = useCallback(
    async (delta: 1 | -1) => {
      if (!page.data) return;
      if (idx >= 0 && idx + delta >= 0 && idx + delta < items.length) {
        navigate({ caseId: items[idx + delta].caseId }, { replace: true });
        return;
      }
      const target = idx < 0 ? state.page : state.page + delta;
      if (target < 1 || target > pages) return;
      if (idx < 0 && items.length > 0) {
        navigate({ caseId: items[delta > 0 ? 0 : items.length - 1].caseId }, { replace: true });
        return;
      }
      const next = await api.cases(run.id, { ...query, page: target });
      const c = next.items[delta > 0 ? 0 : next.items.length - 1];
      if (c) navigate({ page: target, caseId: c.caseId }, { replace: true });
    },
    [page.data, idx, items, state.page, pages, run.id, api, navigate],
  );
  const hasPrev = idx > 0 || state.page > 1;
  const hasNext = (idx >= 0 && idx < items.length - 1) || state.page < pages;

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const t = e.target as HTMLElement | null;
      if (t && (t.tagName === 'INPUT' || t.tagName === 'SELECT' || t.tagName === 'TEXTAREA') && (t as HTMLInputElement).type !== 'checkbox') return;
      if (e.key === 'ArrowRight' || e.key === 'j') {
        e.preventDefault();
        void step(1);
      } else if (e.key === 'ArrowLeft' || e.key === 'k') {
        e.preventDefault();
        void step(-1);
      } else if (e.key === 'Escape' && state.caseId) navigate({ caseId: undefined }, { replace: true });
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [step, navigate, state.caseId]);

  const sortBy = (key: CaseSortKey) =>
    navigate({ sort: key, order: state.sort === key && state.order === 'asc' ? 'desc' : key === 'dice' || key === 'iou' ? 'desc' : 'asc', page: 1 }, { replace: true });
  const scatter = useMemo(
    () => [{ name: variantLabel(run.variant), points: (all.data ?? []).filter((c) => c.dice !== null).map((c) => ({ x: c.fbRatio * 100, y: c.dice! * 100, id: c.caseId })) }],
    [all.data, run.variant],
  );

  return (
    <section className="cases-layout">
      <div className="case-list">
        <div className="toolbar">
          <label>
            Interval{' '}
            <select value={state.interval ?? ''} onChange={(e) => navigate({ interval: e.target.value || undefined, page: 1 }, { replace: true })} aria-label="interval filter">
              <option value="">all</option>
              {labels.map((l) => (
                <option key={l} value={l}>
                  {l}
                </option>
              ))}
            </select>
          </label>
          <label>
            Sort{' '}
            <select value={state.sort} onChange={(e) => sortBy(e.target.value as CaseSortKey)} aria-label="sort cases by">
              {SORTS.map(([k, name]) => (
                <option key={k} value={k}>
                  {name}
                </option>
              ))}
            </select>
          </label>
          <button type="button" onClick={() => navigate({ order: state.order === 'asc' ? 'desc' : 'asc', page: 1 }, { replace: true })} aria-label="toggle sort order">
            {state.order === 'asc' ? '▲ ascending' : '▼ descending'}
          </button>
        </div>
        <Async state={page} what="cases">
          {(p) => (
            <>
              <div className="table-wrap">
                <table className="data numeric cases" aria-label="cases">
                  <thead>
                    <tr>
                      {SORTS.map(([k, name]) => (
                        <th key={k} aria-sort={state.sort === k ? (state.order === 'asc' ? 'ascending' : 'descending') : 'none'}>
                          <button type="button" className="sort" onClick={() => sortBy(k)}>
                            {name} {state.sort === k ? (state.order === 'asc' ? '▲' : '▼') : ''}
                          </button>
                        </th>
                      ))}
                    </tr>
                  </thead>
                  <tbody>
                    {p.items.map((c) => (
                      <tr key={c.caseId} className={c.caseId === selectedId ? 'selected clickable' : 'clickable'} onClick={() => navigate({ caseId: c.caseId }, { replace: true })}>
                        <th scope="row">{c.caseId}</th>
                        <td>{(c.fbRatio * 100).toFixed(2)}%</td>
                        <td>{c.dice === null ? '–' : (c.dice * 100).toFixed(1)}</td>
                        <td>{fmt(c.iou)}</td>
                        <td>{fmt(c.hd, 1)}</td>
                        <td>{fmt(c.hd95, 1)}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
              {p.items.length === 0 && <p className="muted">No case in this interval.</p>}
              <div className="pager">
                <button type="button" disabled={state.page <= 1} onClick={() => navigate({ page: state.page - 1 }, { replace: true })}>
                  ‹
                </button>
                <span>
                  page {state.page} / {pages} · {total} cases
                </span>
                <button type="button" disabled={state.page >= pages} onClick={() => navigate({ page: state.page + 1 }, { replace: true })}>
                  ›
                </button>
              </div>
            </>
          )}
        </Async>
      </div>
      <div className="case-detail">
        {current ? (
          <CaseViewer
            run={run}
            record={current}
            onPrev={hasPrev ? () => void step(-1) : undefined}
            onNext={hasNext ? () => void step(1) : undefined}
            position={idx >= 0 ? `${(state.page - 1) * PAGE_SIZE + idx + 1} / ${total}` : undefined}
          />
        ) : state.caseId && page.status === 'ok' && all.status !== 'loading' ? (
          <p className="error" role="alert">
            Case <code>{state.caseId}</code> is not in this run.
          </p>
        ) : (
          <p className="muted">Pick a case (or press → / j). ← / k goes back, Esc closes.</p>
        )}
        {all.status === 'ok' && (
          <ScatterPlot
            series={scatter}
            xLabel="fbRatio (%)"
            yLabel="Dice (%)"
            yDomain={[0, 100]}
            onPoint={(_s, id) => navigate({ caseId: id }, { replace: true })}
            label={`Dice vs fbRatio, all ${all.data.length} cases of this run (click a point to open it)`}
          />
        )}
      </div>
    </section>
  );
}
