/**
 * `mrlseg eval`: evaluation on the held-out fold with the deterministic policy. Either one stored
 * run (`--run <id>`: re-evaluated from its last checkpoint, cases and PNGs replaced, with what the
 * policy masked, so stores from before schema 2 are backfilled) or the latest
 * experiment of a config (`--config`: the evaluation phase of runs whose training is done, e.g.
 * after `mrlseg pretrain` and `mrlseg rl`).
 */
import type { Command } from 'commander';
import { BACKEND_CHOICES, selectBackend, type BackendChoice } from '../backend';
import { createProgress } from '../progress';
import { openStoreFromFlags } from '../store-flags';
import { addTrainFlags, trainAction, type TrainFlags } from './train';

export function register(program: Command): void {
  addTrainFlags(
    program
      .command('eval')
      .description('evaluate on the held-out fold (deterministic policy): --run <id> re-evaluates one stored run; --config evaluates the latest experiment of that config')
      .option('--run <id>', 'run id in the store to (re-)evaluate from its last checkpoint'),
  ).action(async (o: TrainFlags & { run?: string }) => {
    if (o.run === undefined) {
      if (o.config === undefined && o.dataset === undefined) throw new Error('eval: give --run <id> (a stored run) or --config <file> (its latest experiment)');
      return trainAction(o, { resume: true, phases: { pretrain: false, rl: false, eval: true } });
    }
    if (!BACKEND_CHOICES.includes(o.backend as BackendChoice)) throw new Error(`--backend must be one of ${BACKEND_CHOICES.join(', ')}, got '${o.backend}'`);
    const { evaluateStoredRun } = await import('@mrlseg/experiments');
    const progress = createProgress();
    const sel = await selectBackend(o.backend);
    progress.log(`backend: ${sel.label} (${sel.reason})`);
    const store = await openStoreFromFlags(o, { needsArtifacts: true });
    try {
      const r = await evaluateStoredRun(store, o.run, { onProgress: progress.listener, writePngs: o.pngs !== false }).finally(() => progress.stop());
      const pct = (v: number | null) => (v === null ? 'n/a' : `${(100 * v).toFixed(2)}%`);
      const masked = r.agent ? `; the policy masked ${pct(r.agent.maskedFraction)} of pixels, ${pct(r.agent.lesionMaskedFraction)} of lesion pixels (means over cases)` : '';
      console.log(o.json ? JSON.stringify({ runId: o.run, ...r }) : `run ${o.run}: ${r.cases} cases, mean Dice ${r.meanDice === null ? 'n/a' : r.meanDice.toFixed(4)}${masked}`);
    } finally {
      await store.close();
    }
  });
}
