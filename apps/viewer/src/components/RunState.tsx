import type { RunRecord } from '@mrlseg/types';
import { StatusBadge } from './Status';

/** Epochs of a phase in the run's config (training.epochs; training.rlEpochs for RL and budget-fair fine-tuning), when it says. */
function phaseEpochs(run: RunRecord, phase: string): number | null {
  const t = (run.config as { training?: { epochs?: unknown; rlEpochs?: unknown } } | null)?.training;
  const n = phase === 'rl' || phase === 'finetune' ? t?.rlEpochs : phase === 'pretrain' || phase === 'train' ? t?.epochs : undefined;
  return typeof n === 'number' ? n : null;
}

/**
 * A run's status: queued runs (`mrlseg cv --queue`, status 'pending') read "queued"; a running run
 * says where it runs and the last epoch it finished.
 */
export function RunState({ run }: { run: RunRecord }) {
  if (run.status === 'pending') return <StatusBadge status="queued" className="badge-pending" />;
  if (run.status !== 'running') return <StatusBadge status={run.status} />;
  const e = run.lastEpoch;
  const total = e ? phaseEpochs(run, e.phase) : null;
  const where = [run.host ? `on ${run.host}` : null, e ? `${e.phase} epoch ${e.epoch + 1}${total === null ? '' : `/${total}`} done` : 'starting'].filter(Boolean).join(' · ');
  return (
    <>
      <StatusBadge status="running" /> <span className="muted">{where}</span>
    </>
  );
}
