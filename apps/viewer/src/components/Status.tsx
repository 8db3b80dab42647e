import type { ReactNode } from 'react';
import type { AsyncState } from '../lib/use-async';

export function Loading({ what }: { what: string }) {
  return (
    <div className="loading" role="status" aria-live="polite">
      <span className="spinner" aria-hidden="true" /> Loading {what}…
    </div>
  );
}

export function ErrorBox({ error, what }: { error: Error; what: string }) {
  return (
    <div className="error" role="alert">
      <strong>Could not load {what}.</strong> {error.message}
    </div>
  );
}

/** Spinner while loading, an alert on error, else the children rendered with the data. */
export function Async<T>({ state, what, children }: { state: AsyncState<T>; what: string; children: (data: T) => ReactNode }) {
  if (state.status === 'loading') return <Loading what={what} />;
  if (state.status === 'error') return <ErrorBox error={state.error} what={what} />;
  return <>{children(state.data)}</>;
}

export function StatusBadge({ status, className = `badge-${status}` }: { status: string; className?: string }) {
  return <span className={`badge ${className}`}>{status}</span>;
}

export function formatDuration(ms: number | null): string {
  if (ms === null || !Number.isFinite(ms)) return '–';
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${Math.round(s - m * 60)} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

export const fmt = (v: number | null | undefined, digits = 3) => (v === null || v === undefined || !Number.isFinite(v) ? '–' : v.toFixed(digits));
