import { useEffect, useState } from 'react';
import type { ExperimentRecord, RunRecord } from '@mrlseg/types';
import { ApiClient, type AuthRequired } from './lib/api';
import { bestRun, latestExperiment } from './lib/runs';
import { variantLabel } from './lib/tables';
import { useAsync } from './lib/use-async';
import { useViewState, type Navigate, type View, type ViewState } from './lib/url-state';
import { CasesView } from './components/CasesView';
import { CompareView } from './components/CompareView';
import { ApiContext, useApi } from './components/context';
import { CurvesView } from './components/CurvesView';
import { RunsView } from './components/RunsView';
import { Async } from './components/Status';
import { TablesView } from './components/TablesView';
import { TokenPrompt } from './components/TokenPrompt';
import { TryIt } from './components/TryIt';

const TABS: [View, string][] = [
  ['runs', 'Runs'],
  ['compare', 'Compare'],
  ['tables', 'Tables & plots'],
  ['cases', 'Cases'],
  ['curves', 'Training'],
  ['try', 'Try it'],
];

/** Views that need one run. */
const RUN_VIEWS: View[] = ['cases', 'curves', 'try'];

const DEFAULT_API = new ApiClient();

export function App({ api = DEFAULT_API }: { api?: ApiClient }) {
  return (
    <ApiContext.Provider value={api}>
      <Shell />
    </ApiContext.Provider>
  );
}

function Shell() {
  const api = useApi();
  const [state, navigate] = useViewState();
  // Set when the API answers 401: the token prompt replaces the content until a token is given.
  const [auth, setAuth] = useState<AuthRequired | null>(null);
  // Bumped when a token is entered: everything below reloads with it.
  const [epoch, setEpoch] = useState(0);
  useEffect(() => api.onAuthRequired((e) => setAuth((prev) => (prev && prev.rejected === e.rejected ? prev : e))), [api]);
  const data = useAsync(async (signal) => {
    const [experiments, runs] = await Promise.all([api.experiments(signal), api.runs(signal)]);
    return { experiments, runs };
  }, [api, epoch]);
  const acceptToken = (token: string) => {
    api.tokens.set(token);
    setAuth(null);
    setEpoch((n) => n + 1);
  };
  return (
    <div className="app">
      <header>
        <h1>
          MRL-Seg <span className="muted">results</span>
        </h1>
        <nav aria-label="views">
          {TABS.map(([view, name]) => (
            <button key={view} type="button" className={state.view === view ? 'tab active' : 'tab'} aria-current={state.view === view ? 'page' : undefined} onClick={() => navigate({ view })}>
              {name}
            </button>
          ))}
        </nav>
      </header>
      <main key={epoch}>
        {auth ? (
          <TokenPrompt rejected={auth.rejected} onSubmit={acceptToken} />
        ) : (
          <Async state={data} what="experiments and runs">
            {({ experiments, runs }) => <Body experiments={experiments} runs={runs} state={state} navigate={navigate} />}
          </Async>
        )}
      </main>
    </div>
  );
}

/**
 * Without a choice in the URL the views open on results rather than an empty page: the most recent
 * experiment, its best run (highest mean Dice) in Cases, Training and Try it, all its runs in Compare.
 */
function Body({ experiments, runs, state, navigate }: { experiments: ExperimentRecord[]; runs: RunRecord[]; state: ViewState; navigate: Navigate }) {
  const chosen = runs.find((r) => r.id === state.run);
  const experiment = state.experiment ?? chosen?.experimentId ?? latestExperiment(experiments)?.id;
  const expRuns = runs.filter((r) => r.experimentId === experiment);
  const run = state.run ? chosen : bestRun(expRuns);
  const compare = state.compare.length > 0 ? state.compare : expRuns.map((r) => r.id);
  const needsRun = RUN_VIEWS.includes(state.view);
  const selectors = (
    <div className="selectors">
      <label>
        Experiment{' '}
        <select value={experiment ?? ''} onChange={(e) => navigate({ experiment: e.target.value || undefined, run: undefined, caseId: undefined, page: 1, interval: undefined })} aria-label="experiment">
          {experiments.map((e) => (
            <option key={e.id} value={e.id}>
              {e.name || e.id} ({e.dataset})
            </option>
          ))}
        </select>
      </label>
      {needsRun && (
        <label>
          Run{' '}
          <select value={state.run ?? run?.id ?? ''} onChange={(e) => navigate({ run: e.target.value || undefined, caseId: undefined, page: 1 })} aria-label="run">
            <option value="">choose a run…</option>
            {expRuns.map((r) => (
              <option key={r.id} value={r.id}>
                {variantLabel(r.variant)} · fold {r.fold < 0 ? 'all' : r.fold} · seed {r.seed} ({r.status}){r.summary?.meanDice != null ? ` · Dice ${r.summary.meanDice.toFixed(3)}` : ''}
              </option>
            ))}
          </select>
        </label>
      )}
    </div>
  );
  let content: React.ReactNode;
  if (state.view === 'runs') content = <RunsView experiments={experiments} runs={runs} state={state} navigate={navigate} />;
  else if (state.view === 'compare') content = <CompareView runs={runs} ids={compare} navigate={navigate} />;
  else if (state.view === 'tables') content = <TablesView key={experiment} runs={expRuns} navigate={navigate} />;
  else if (!run) content = state.run ? <p className="error" role="alert">Run <code>{state.run}</code> is not in this store.</p> : <p className="muted">No runs in this experiment yet.</p>;
  else if (state.view === 'cases') content = <CasesView key={run.id} run={run} state={state} navigate={navigate} />;
  else if (state.view === 'curves') content = <CurvesView run={run} />;
  else content = <TryIt run={run} />;
  return (
    <>
      {state.view !== 'runs' && state.view !== 'compare' && selectors}
      {content}
    </>
  );
}
