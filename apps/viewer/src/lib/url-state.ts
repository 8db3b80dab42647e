/**
 * URL state: everything a reviewer would want to share (view, experiment, run, compared runs,
 * interval filter, sort, page, case) lives in the query string, so a link opens the same screen.
 */
import { CASE_SORT_KEYS } from '@mrlseg/types';
import { useCallback, useEffect, useState } from 'react';

export const VIEWS = ['runs', 'compare', 'tables', 'cases', 'curves', 'try'] as const;
export type View = (typeof VIEWS)[number];
export type CaseSortKey = (typeof CASE_SORT_KEYS)[number];

export interface ViewState {
  view: View;
  experiment?: string;
  run?: string;
  compare: string[];
  interval?: string;
  sort: CaseSortKey;
  order: 'asc' | 'desc';
  page: number;
  caseId?: string;
}

export const DEFAULT_STATE: ViewState = { view: 'runs', compare: [], sort: 'caseId', order: 'asc', page: 1 };

/** Parses a query string; unknown or malformed values fall back to the defaults. */
export function parseViewState(search: string): ViewState {
  const q = new URLSearchParams(search);
  const view = q.get('view');
  const sort = q.get('sort');
  const page = Number(q.get('page'));
  const str = (k: string) => {
    const v = q.get(k);
    return v === null || v === '' ? undefined : v;
  };
  return {
    view: (VIEWS as readonly string[]).includes(view ?? '') ? (view as View) : DEFAULT_STATE.view,
    experiment: str('exp'),
    run: str('run'),
    compare: (q.get('compare') ?? '').split(',').filter(Boolean),
    interval: str('interval'),
    sort: (CASE_SORT_KEYS as readonly string[]).includes(sort ?? '') ? (sort as CaseSortKey) : DEFAULT_STATE.sort,
    order: q.get('order') === 'desc' ? 'desc' : 'asc',
    page: Number.isInteger(page) && page >= 1 ? page : 1,
    caseId: str('case'),
  };
}

/** The inverse of {@link parseViewState}; default values are left out to keep links short. */
export function serializeViewState(s: ViewState): string {
  const q = new URLSearchParams();
  q.set('view', s.view);
  if (s.experiment) q.set('exp', s.experiment);
  if (s.run) q.set('run', s.run);
  if (s.compare.length) q.set('compare', s.compare.join(','));
  if (s.interval) q.set('interval', s.interval);
  if (s.sort !== DEFAULT_STATE.sort) q.set('sort', s.sort);
  if (s.order !== DEFAULT_STATE.order) q.set('order', s.order);
  if (s.page !== 1) q.set('page', String(s.page));
  if (s.caseId) q.set('case', s.caseId);
  return `?${q.toString()}`;
}

export type Navigate = (patch: Partial<ViewState>, opts?: { replace?: boolean }) => void;

/** The view state of `window.location`, kept in sync with back/forward navigation. */
export function useViewState(): [ViewState, Navigate] {
  const [state, setState] = useState<ViewState>(() => parseViewState(window.location.search));
  useEffect(() => {
    const onPop = () => setState(parseViewState(window.location.search));
    window.addEventListener('popstate', onPop);
    return () => window.removeEventListener('popstate', onPop);
  }, []);
  const navigate = useCallback<Navigate>((patch, opts) => {
    setState((prev) => {
      const next = { ...prev, ...patch };
      const url = `${window.location.pathname}${serializeViewState(next)}`;
      if (opts?.replace) window.history.replaceState(null, '', url);
      else window.history.pushState(null, '', url);
      return next;
    });
  }, []);
  return [state, navigate];
}
