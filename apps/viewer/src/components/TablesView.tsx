import { ABLATION_VARIANTS, type RunRecord } from '@mrlseg/types';
import { useMemo } from 'react';
import { exportAblationTable } from '../lib/export';
import { buildAblationTable, buildIntervalTable, intervalSpecOf, variantLabel, type RunCases } from '../lib/tables';
import { useAsync } from '../lib/use-async';
import type { Navigate } from '../lib/url-state';
import { BarChart } from '../plots/BarChart';
import { ScatterPlot } from '../plots/ScatterPlot';
import { resolveIntervalEdges } from '@mrlseg/metrics';
import { useApi } from './context';
import { ExportButtons, IntervalTableView } from './IntervalTableView';
import { Async } from './Status';

/** Loads every case of each completed run (the tables and plots are computed from them). */
export function useRunsCases(runs: RunRecord[]) {
  const api = useApi();
  const ids = runs.map((r) => r.id).join(',');
  return useAsync<RunCases[]>(async (signal) => Promise.all(runs.map(async (run) => ({ run, cases: await api.allCases(run.id, signal) }))), [ids, api]);
}

/** The paper's Tables I-V and the plots of an experiment, computed from its completed runs. */
export function TablesView({ runs, navigate }: { runs: RunRecord[]; navigate: Navigate }) {
  const completed = runs.filter((r) => r.status === 'completed');
  const state = useRunsCases(completed);
  if (runs.length === 0) return <p className="muted">Select an experiment with runs (Runs tab).</p>;
  if (completed.length === 0) return <p className="muted">No completed run in this experiment yet.</p>;
  return (
    <Async state={state} what="the cases of the runs">
      {(data) => <Tables data={data} navigate={navigate} />}
    </Async>
  );
}

function Tables({ data, navigate }: { data: RunCases[]; navigate: Navigate }) {
  const spec = intervalSpecOf(data[0]?.run);
  const dice = useMemo(() => buildIntervalTable(data, 'dice', spec), [data, spec]);
  const hd = useMemo(() => buildIntervalTable(data, 'hd', spec), [data, spec]);
  const ablation = useMemo(() => buildAblationTable(data, spec, ABLATION_VARIANTS), [data, spec]);
  const groups = dice.table.columns;
  const series = dice.table.rows.map((r) => r.label);
  const bars = (t: typeof dice, scale: number) =>
    t.table.rows.flatMap((r) => r.cells.map((c, i) => ({ group: groups[i], series: r.label, mean: c.mean === null ? null : c.mean * scale, std: c.std === null ? null : c.std * scale, n: c.n })));
  const byVariant = new Map<string, RunCases[]>();
  for (const d of data) byVariant.set(d.run.variant, [...(byVariant.get(d.run.variant) ?? []), d]);
  const scatter = [...byVariant.entries()].map(([variant, list]) => ({
    name: variantLabel(variant),
    points: list.flatMap((d) =>
      d.cases
        .filter((c) => c.dice !== null)
        .map((c) => ({ x: c.fbRatio * 100, y: c.dice! * 100, id: `${d.run.id}/${c.caseId}`, title: `${c.caseId} (${variantLabel(variant)}): Dice ${(c.dice! * 100).toFixed(1)}%, fbRatio ${(c.fbRatio * 100).toFixed(2)}%` })),
    ),
  }));
  const openCase = (_series: string, id: string) => {
    const slash = id.indexOf('/');
    navigate({ view: 'cases', run: id.slice(0, slash), caseId: id.slice(slash + 1), interval: undefined, page: 1 });
  };
  const api = useApi();
  const first = data[0].run;
  return (
    <section>
      <p className="footnote">
        Computed in this browser from {data.length} completed run(s). The server's report of this experiment:{' '}
        {(['md', 'csv', 'latex', 'json'] as const).map((f) => (
          <a
            key={f}
            href={api.reportUrl(first.id, f)}
            download={`report-${first.experimentId}.${f === 'latex' ? 'tex' : f}`}
            style={{ marginRight: 8 }}
            onClick={(e) => {
              // A plain link cannot send the token: fetch it and save a blob instead.
              e.preventDefault();
              void api.download(api.reportUrl(first.id, f), `report-${first.experimentId}.${f === 'latex' ? 'tex' : f}`).catch((err: unknown) => window.alert((err as Error).message));
            }}
          >
            {f === 'md' ? 'Markdown' : f === 'latex' ? 'LaTeX' : f.toUpperCase()}
          </a>
        ))}
      </p>
      <IntervalTableView table={dice} name="dice-per-interval" />
      <IntervalTableView table={hd} name="hd-per-interval" />
      {ablation.length > 0 && (
        <div className="paper-table">
          <div className="table-head">
            <h3>Ablation analysis of key components (Table V)</h3>
            <ExportButtons name="ablation" make={(f) => exportAblationTable(ablation, f)} />
          </div>
          <div className="table-wrap">
            <table className="data numeric" aria-label="ablation">
              <thead>
                <tr>
                  <th>Variant</th>
                  <th>w/o pre-training</th>
                  <th>Seg</th>
                  <th>RL</th>
                  <th>ADP</th>
                  <th>FB</th>
                  <th>Mean Dice (%)</th>
                  <th>Mean HD (px)</th>
                </tr>
              </thead>
              <tbody>
                {ablation.map((r) => (
                  <tr key={r.variant}>
                    <th scope="row">{r.label}</th>
                    {[r.flags.withoutPretraining, r.flags.seg, r.flags.rl, r.flags.adp, r.flags.fb].map((f, i) => (
                      <td key={i} className="check">
                        {f ? '✓' : ''}
                      </td>
                    ))}
                    <td className={r.dice.best ? 'best' : undefined}>{r.dice.text}</td>
                    <td className={r.hd.best ? 'best' : undefined}>{r.hd.text}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </div>
      )}
      <div className="plots">
        <ScatterPlot
          series={scatter}
          xLabel="fbRatio (%)"
          yLabel="Dice (%)"
          yDomain={[0, 100]}
          xEdges={[...resolveIntervalEdges(spec)]}
          onPoint={openCase}
          label="Dice vs fbRatio per case (click a point to open the case)"
        />
        <BarChart bars={bars(dice, 100)} groups={groups} series={series} yLabel="Dice (%)" label="Dice per fbRatio interval (mean ± std)" />
        <BarChart bars={bars(hd, 1)} groups={groups} series={series} yLabel="HD (px)" label="Hausdorff distance per fbRatio interval (mean ± std)" />
      </div>
    </section>
  );
}
