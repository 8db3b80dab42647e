import { type ExperimentRecord, type RunRecord } from '@mrlseg/types';
import type { Navigate, ViewState } from '../lib/url-state';
import { variantLabel } from '../lib/tables';
import { RunState } from './RunState';
import { formatDuration } from './Status';

/** Experiments and their runs: status, dataset, variant, seed, backend, duration; pick runs to compare. */
export function RunsView({ experiments, runs, state, navigate }: { experiments: ExperimentRecord[]; runs: RunRecord[]; state: ViewState; navigate: Navigate }) {
  const shown = state.experiment ? runs.filter((r) => r.experimentId === state.experiment) : runs;
  const toggle = (id: string) => {
    const compare = state.compare.includes(id) ? state.compare.filter((c) => c !== id) : [...state.compare, id];
    navigate({ compare }, { replace: true });
  };
  return (
    <section>
      <h2>Experiments</h2>
      {experiments.length === 0 ? (
        <p className="muted">No experiments in this store yet. Run <code>npx mrlseg demo</code> and reload.</p>
      ) : (
        <div className="table-wrap">
          <table className="data">
            <thead>
              <tr>
                <th>Name</th>
                <th>Dataset</th>
                <th>Runs</th>
                <th>Created</th>
                <th>Author</th>
                <th>Commit</th>
              </tr>
            </thead>
            <tbody>
              {experiments.map((e) => (
                <tr
                  key={e.id}
                  className={e.id === state.experiment ? 'selected clickable' : 'clickable'}
                  onClick={() => navigate({ experiment: e.id === state.experiment ? undefined : e.id, compare: [] })}
                >
                  <td>{e.name || e.id}</td>
                  <td>{e.dataset}</td>
                  <td>{runs.filter((r) => r.experimentId === e.id).length}</td>
                  <td>{new Date(e.createdAt).toLocaleString()}</td>
                  <td>{e.author ?? '–'}</td>
                  <td>
                    <code>{e.gitCommit?.slice(0, 8) ?? '–'}</code>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <h2>
        Runs{state.experiment ? ` of ${experiments.find((e) => e.id === state.experiment)?.name ?? state.experiment}` : ''}
      </h2>
      <div className="toolbar">
        <button type="button" disabled={state.compare.length < 2} onClick={() => navigate({ view: 'compare' })}>
          Compare {state.compare.length} selected
        </button>
        {state.compare.length > 0 && (
          <button type="button" className="link" onClick={() => navigate({ compare: [] }, { replace: true })}>
            clear selection
          </button>
        )}
      </div>
      <div className="table-wrap">
        <table className="data" aria-label="runs">
          <thead>
            <tr>
              <th aria-label="compare" />
              <th>Variant</th>
              <th>Status</th>
              <th>Dataset</th>
              <th>Fold</th>
              <th>Seed</th>
              <th>Backend</th>
              <th>Duration</th>
              <th>Started</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {shown.map((r) => (
              <tr key={r.id} className={r.id === state.run ? 'selected' : undefined} title={r.error ?? r.id}>
                <td>
                  <input type="checkbox" aria-label={`compare ${r.id}`} checked={state.compare.includes(r.id)} onChange={() => toggle(r.id)} />
                </td>
                <td>{variantLabel(r.variant)}</td>
                <td>
                  <RunState run={r} />
                </td>
                <td>{r.dataset}</td>
                <td>{r.fold < 0 ? 'all' : r.fold}</td>
                <td>{r.seed}</td>
                <td>{r.backend}</td>
                <td>{formatDuration(r.durationMs)}</td>
                <td>{new Date(r.startedAt).toLocaleString()}</td>
                <td className="actions">
                  <button type="button" className="link" onClick={() => navigate({ run: r.id, experiment: r.experimentId, view: 'cases', caseId: undefined, interval: undefined, page: 1 })}>
                    cases
                  </button>
                  <button type="button" className="link" onClick={() => navigate({ run: r.id, experiment: r.experimentId, view: 'curves' })}>
                    curves
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {shown.length === 0 && <p className="muted">No runs.</p>}
    </section>
  );
}
