import type { EpochRecord, RunRecord } from '@mrlseg/types';
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

/** Training curves of a run: loss, RL reward and validation Dice per epoch. */
export function CurvesView({ run }: { run: RunRecord }) {
  const api = useApi();
  const state = useAsync((signal) => api.epochs(run.id, signal), [run.id, api]);
  return (
    <section>
      <h2>Training curves</h2>
      <p className="muted">
        {run.id} · {run.backend} · {formatDuration(run.durationMs)}
      </p>
      <Async state={state} what="the epochs">
        {(epochs) =>
          epochs.length === 0 ? (
            <p className="muted">This run recorded no epochs.</p>
          ) : (
            <div className="plots">
              <LineChart series={curveSeries(epochs, 'loss')} xLabel="epoch (all phases in order)" yLabel="Loss" label="Training loss per epoch" />
              <LineChart series={curveSeries(epochs, 'reward')} xLabel="epoch (all phases in order)" yLabel="Reward" label="Mean RL reward per epoch" />
              <LineChart series={curveSeries(epochs, 'valDice')} xLabel="epoch (all phases in order)" yLabel="Validation Dice (%)" label="Validation Dice per epoch" />
            </div>
          )
        }
      </Async>
    </section>
  );
}
