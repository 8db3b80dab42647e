import type { EpochRecord, RunRecord } from '@mrlseg/types';
import { selectionStates } from '../lib/runs';
import { useAsync } from '../lib/use-async';
import { LineChart, type LineSeries } from '../plots/LineChart';
import { useApi } from './context';
import { Async, formatDuration } from './Status';

const PHASES: EpochRecord['phase'][] = ['train', 'pretrain', 'rl', 'finetune'];
const PHASE_NAMES: Record<EpochRecord['phase'], string> = { train: 'training', pretrain: 'pre-training (Seg-Net)', rl: 'RL (A2C)', finetune: 'fine-tuning (Seg-Net)' };

/** One series per phase; x is the epoch counted across phases in training order, y the chosen field. */
export function curveSeries(epochs: EpochRecord[], field: 'loss' | 'reward' | 'valDice'): LineSeries[] {
  const sorted = [...epochs].sort((a, b) => PHASES.indexOf(a.phase) - PHASES.indexOf(b.phase) || a.epoch - b.epoch);
  const step = new Map(sorted.map((e, i) => [e, i + 1]));
  return PHASES.map((phase) => ({
    name: PHASE_NAMES[phase],
    points: sorted.filter((e) => e.phase === phase && e[field] !== null).map((e) => ({ x: step.get(e)!, y: field === 'valDice' ? e[field]! * 100 : e[field]! })),
  })).filter((s) => s.points.length > 0);
}

/** Agent instruments of issue 15, per RL epoch (1-based): which stats keys, shown as which series (percentages where `pct`). */
export const AGENT_CHARTS: { label: string; yLabel: string; keys: { key: string; name: string; pct?: boolean }[] }[] = [
  {
    label: 'What the greedy policy masks per RL epoch',
    yLabel: 'Masked (%)',
    keys: [
      { key: 'maskedLesion', name: 'lesion pixels', pct: true },
      { key: 'maskedDistractor', name: 'distractor pixels', pct: true },
      { key: 'maskedOther', name: 'other background', pct: true },
      { key: 'maskLabelShare', name: "units labelled 'mask' (training labels)", pct: true },
    ],
  },
  {
    label: 'Policy entropy and gradient signal-to-noise per RL epoch',
    yLabel: 'nats / cosine',
    keys: [
      { key: 'entropy', name: 'mean policy entropy (nats)' },
      { key: 'gradientCosine', name: 'cosine of half-batch policy gradients' },
    ],
  },
  {
    label: 'Advantage (credit) mean and spread per RL epoch',
    yLabel: 'nats',
    keys: [
      { key: 'advantageMean', name: 'mean' },
      { key: 'advantageStd', name: 'standard deviation' },
    ],
  },
];

/** One series per instrument of a chart; x is the RL epoch (1-based). Epochs without stats are skipped. */
export function agentSeries(epochs: EpochRecord[], keys: (typeof AGENT_CHARTS)[number]['keys']): LineSeries[] {
  const rl = epochs.filter((e) => e.phase === 'rl' && e.stats).sort((a, b) => a.epoch - b.epoch);
  return keys
    .map(({ key, name, pct }) => ({
      name,
      points: rl.flatMap((e) => {
        const v = e.stats?.[key];
        return typeof v === 'number' && Number.isFinite(v) ? [{ x: e.epoch + 1, y: pct ? 100 * v : v }] : [];
      }),
    }))
    .filter((s) => s.points.length > 0);
}

/** Training curves of a run: loss, RL reward and validation Dice per epoch; the agent's instruments; the kept state. */
export function CurvesView({ run }: { run: RunRecord }) {
  const api = useApi();
  const state = useAsync((signal) => api.epochs(run.id, signal), [run.id, api]);
  return (
    <section>
      <h2>Training curves</h2>
      <p className="muted">
        {run.id} · {run.backend} · {formatDuration(run.durationMs)}
      </p>
      {run.selection ? (
        <p className="selection">
          Kept on the validation split ({run.selection.validationCases} slices): <strong>{run.selection.chosen === 'pretrained' ? 'the pre-trained Segmentation-Net (agent off)' : run.selection.chosen}</strong>
          {' · '}
          {selectionStates(run.selection)}
        </p>
      ) : null}
      <Async state={state} what="the epochs">
        {(epochs) =>
          epochs.length === 0 ? (
            <p className="muted">This run recorded no epochs.</p>
          ) : (
            <div className="plots">
              <LineChart series={curveSeries(epochs, 'loss')} xLabel="epoch (all phases in order)" yLabel="Loss" label="Training loss per epoch" />
              <LineChart series={curveSeries(epochs, 'reward')} xLabel="epoch (all phases in order)" yLabel="Reward" label="Mean RL reward per epoch" />
              <LineChart series={curveSeries(epochs, 'valDice')} xLabel="epoch (all phases in order)" yLabel="Validation Dice (%)" label="Validation Dice per epoch" />
              {AGENT_CHARTS.map((c) => {
                const series = agentSeries(epochs, c.keys);
                return series.length ? <LineChart key={c.label} series={series} xLabel="RL epoch" yLabel={c.yLabel} label={c.label} /> : null;
              })}
            </div>
          )
        }
      </Async>
    </section>
  );
}
