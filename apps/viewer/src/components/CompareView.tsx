import type { RunRecord } from '@mrlseg/types';
import { useMemo } from 'react';
import { buildIntervalTable, intervalSpecOf, variantLabel, type Grouping, type RunCases } from '../lib/tables';
import type { Navigate } from '../lib/url-state';
import { ScatterPlot } from '../plots/ScatterPlot';
import { IntervalTableView } from './IntervalTableView';
import { Async, formatDuration, StatusBadge } from './Status';
import { useRunsCases } from './TablesView';

/** Dotted paths of a nested config -> JSON value text. */
export function flatten(value: unknown, prefix = '', out: Record<string, string> = {}): Record<string, string> {
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) flatten(v, prefix ? `${prefix}.${k}` : k, out);
  } else if (prefix) out[prefix] = JSON.stringify(value);
  return out;
}

/** Config entries whose values differ between the runs (same path, different JSON). */
export function configDiff(runs: RunRecord[]): { path: string; values: string[] }[] {
  const flat = runs.map((r) => flatten(r.config));
  const paths = [...new Set(flat.flatMap((f) => Object.keys(f)))].sort();
  return paths.map((path) => ({ path, values: flat.map((f) => f[path] ?? '–') })).filter((d) => new Set(d.values).size > 1);
}

export function runName(r: RunRecord): string {
  return `${variantLabel(r.variant)} · fold ${r.fold < 0 ? 'all' : r.fold} · seed ${r.seed}`;
}

/** Runs side by side: metadata, config differences, Dice/HD per interval and the per-case scatter. */
export function CompareView({ runs, ids, navigate }: { runs: RunRecord[]; ids: string[]; navigate: Navigate }) {
  const selected = ids.map((id) => runs.find((r) => r.id === id)).filter((r): r is RunRecord => r !== undefined);
  const state = useRunsCases(selected);
  if (selected.length < 2) return <p className="muted">Tick two or more runs in the Runs tab to compare them.</p>;
  const diff = configDiff(selected);
  const meta: [string, (r: RunRecord) => React.ReactNode][] = [
    ['Variant', (r) => variantLabel(r.variant)],
    ['Status', (r) => <StatusBadge status={r.status} />],
    ['Dataset', (r) => r.dataset],
    ['Fold', (r) => (r.fold < 0 ? 'all' : r.fold)],
    ['Seed', (r) => r.seed],
    ['Backend', (r) => r.backend],
    ['Duration', (r) => formatDuration(r.durationMs)],
    ['Commit', (r) => <code>{r.gitCommit?.slice(0, 8) ?? '–'}</code>],
  ];
  return (
    <section>
      <h2>Comparing {selected.length} runs</h2>
      <div className="table-wrap">
        <table className="data compare" aria-label="run comparison">
          <thead>
            <tr>
              <th />
              {selected.map((r) => (
                <th key={r.id}>
                  <button type="button" className="link" onClick={() => navigate({ view: 'cases', run: r.id, caseId: undefined, page: 1 })}>
                    {runName(r)}
                  </button>
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {meta.map(([name, get]) => (
              <tr key={name}>
                <th scope="row">{name}</th>
                {selected.map((r) => (
                  <td key={r.id}>{get(r)}</td>
                ))}
              </tr>
            ))}
            {diff.map((d) => (
              <tr key={d.path} className="diff">
                <th scope="row">
                  <code>{d.path}</code>
                </th>
                {d.values.map((v, i) => (
                  <td key={i}>
                    <code>{v}</code>
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <Async state={state} what="the cases of the compared runs">
        {(data) => <CompareMetrics data={data} />}
      </Async>
    </section>
  );
}

function CompareMetrics({ data }: { data: RunCases[] }) {
  const spec = intervalSpecOf(data[0]?.run);
  const group = useMemo<Grouping>(() => {
    const names = new Map(data.map((d) => [d.run.id, runName(d.run)]));
    const dup = new Set([...names.values()].filter((n, i, a) => a.indexOf(n) !== i));
    const label = (id: string) => (dup.has(names.get(id)!) ? `${names.get(id)} (${id})` : names.get(id)!);
    return { key: (r) => r.id, label, reference: data[0]?.run.id, pair: (_r, c) => c.caseId };
  }, [data]);
  const dice = useMemo(() => buildIntervalTable(data, 'dice', spec, group), [data, spec, group]);
  const hd = useMemo(() => buildIntervalTable(data, 'hd', spec, group), [data, spec, group]);
  return (
    <>
      <IntervalTableView table={dice} name="compare-dice" />
      <IntervalTableView table={hd} name="compare-hd" />
      <p className="footnote">Asterisks here compare each run with the first selected one, case by case.</p>
      <div className="plots">
        <ScatterPlot
          series={data.map((d) => ({ name: runName(d.run), points: d.cases.filter((c) => c.dice !== null).map((c) => ({ x: c.fbRatio * 100, y: c.dice! * 100, id: c.caseId })) }))}
          xLabel="fbRatio (%)"
          yLabel="Dice (%)"
          yDomain={[0, 100]}
          label="Dice vs fbRatio per case"
        />
      </div>
    </>
  );
}
