/**
 * `mrlseg diagnose rl`: what the agent learns with the Segmentation-Net frozen (issue 15; the
 * library's diagnoseRl). Pre-trains the config's Segmentation-Net (or loads --checkpoint), trains
 * each formulation of --credits for --updates agent updates and scores the greedy policy on the
 * last quarter of the patients: masked fractions of lesion / distractor / other background pixels
 * and Dice on masked vs raw images with a paired t-test. JSON lines on stdout as it goes, then a
 * markdown table. Heavy modules are imported when the command runs.
 *
 *   mrlseg diagnose rl --config configs/synthetic-demo.json [--seeds 0,1,2] [--credits pixel,candidates] [--updates 60] [--augment] [--greedy-thresholds 0,1,2]
 */
import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { BACKEND_CHOICES, selectBackend, type BackendChoice } from '../backend';

interface DiagnoseFlags {
  config?: string;
  checkpoint?: string;
  seeds: string;
  credits: string;
  updates: string;
  variant: string;
  unitLr?: string;
  augment?: boolean;
  greedyThresholds?: string;
  backend: string;
  out?: string;
}

const CREDITS = ['pixel', 'patch', 'counterfactual', 'candidates'] as const;
const VARIANTS = ['rl-seg', 'rl-fb-seg', 'rl-fb-adp-seg'] as const;

function parseList(flag: string, v: string, parse: (s: string) => number): number[] {
  const out = v.split(',').map((s) => parse(s.trim()));
  if (!out.length || out.some((n) => !Number.isInteger(n))) throw new Error(`${flag} must be a comma-separated list of integers, got '${v}'`);
  return out;
}

export function register(program: Command): void {
  const diagnose = program.command('diagnose').description('diagnostics of the method (diagnose rl: what the agent learns, Segmentation-Net frozen)');
  diagnose
    .command('rl')
    .description('train each agent formulation with the Segmentation-Net frozen and report what its greedy policy masks (lesion / distractor / other) and Dice masked vs raw')
    .option('--config <file>', 'experiment config (dataset, model, rl, training); default: the demo config with 2 distractors per slice')
    .option('--checkpoint <dir>', 'start from this pre-trained checkpoint folder instead of pre-training')
    .option('--seeds <list>', 'seeds, comma-separated', '0')
    .option('--credits <list>', `formulations (${CREDITS.join('|')}), comma-separated`, CREDITS.join(','))
    .option('--updates <n>', 'agent updates per formulation and seed', '60')
    .option('--variant <id>', `reward components (${VARIANTS.join('|')})`, 'rl-fb-adp-seg')
    .option('--unit-lr <lr>', 'learning rate of the unit formulations (counterfactual, candidates); default training.rlLr')
    .option('--augment', "augment the agent's training batches with the config's preprocessing.augmentation, as the trainer's RL phase does")
    .option('--greedy-thresholds <list>', "unit formulations: also score the trained policy on the held-out slices at these rl.greedyThreshold values (mean mask logits), comma-separated")
    .option('--backend <name>', `TensorFlow.js backend (${BACKEND_CHOICES.join('|')})`, 'auto')
    .option('--out <file>', 'write every row (curves, per-case Dice) as JSON')
    .action(async (o: DiagnoseFlags) => {
      const seeds = parseList('--seeds', o.seeds, Number);
      const credits = o.credits.split(',').map((s) => s.trim());
      for (const c of credits) if (!(CREDITS as readonly string[]).includes(c)) throw new Error(`--credits: unknown formulation '${c}' (known: ${CREDITS.join(', ')})`);
      const updates = Number(o.updates);
      if (!Number.isInteger(updates) || updates < 1) throw new Error(`--updates must be a positive integer, got '${o.updates}'`);
      if (!(VARIANTS as readonly string[]).includes(o.variant)) throw new Error(`--variant must be one of ${VARIANTS.join(', ')}, got '${o.variant}'`);
      const unitLr = o.unitLr === undefined ? undefined : Number(o.unitLr);
      if (unitLr !== undefined && !(unitLr > 0)) throw new Error(`--unit-lr must be a positive number, got '${o.unitLr}'`);
      const greedyThresholds = o.greedyThresholds === undefined ? undefined : o.greedyThresholds.split(',').map((v) => (v.trim() === '' ? NaN : Number(v)));
      if (greedyThresholds && (!greedyThresholds.length || greedyThresholds.some((v) => !Number.isFinite(v)))) throw new Error(`--greedy-thresholds must be a comma-separated list of numbers, got '${o.greedyThresholds}'`);
      if (!BACKEND_CHOICES.includes(o.backend as BackendChoice)) throw new Error(`--backend must be one of ${BACKEND_CHOICES.join(', ')}, got '${o.backend}'`);
      const [{ ExperimentConfigSchema }, exp] = await Promise.all([import('@mrlseg/types'), import('@mrlseg/experiments')]);
      const config = o.config
        ? await exp.loadExperimentConfig(o.config)
        : ExperimentConfigSchema.parse({ ...exp.DEMO_CONFIG_INPUT, dataset: { ...exp.DEMO_CONFIG_INPUT.dataset, synthetic: { ...(exp.DEMO_CONFIG_INPUT.dataset as { synthetic: object }).synthetic, distractors: 2 } }, rl: exp.BENCHMARK_RL_INPUT, variants: undefined });
      const sel = await selectBackend(o.backend as BackendChoice);
      console.error(`backend: ${sel.label} (${sel.reason})`);
      const { slices } = await exp.loadSlices(config);
      const rows = await exp.diagnoseRl({
        config,
        slices: [...slices.values()],
        seeds,
        credits: credits as (typeof CREDITS)[number][],
        updates,
        variant: o.variant as (typeof VARIANTS)[number],
        unitLr,
        augment: o.augment === true,
        greedyThresholds,
        checkpoint: o.checkpoint,
        log: (r) => console.log(JSON.stringify(r)),
      });
      console.log(`\n${exp.diagnosisTable(rows)}`);
      if (o.out) writeFileSync(o.out, JSON.stringify(rows, null, 1));
    });
}
