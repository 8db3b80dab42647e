/** `mrlseg bench ...`: engine benchmarks that print one JSON line each. */
import type { Command } from 'commander';
import { runBenchUnet } from '@mrlseg/models';
import { BACKEND_CHOICES, selectBackend, type BackendChoice } from '../backend';

const int = (name: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`--${name} must be a positive integer, got '${v}'`);
  return n;
};

export function register(program: Command): void {
  const bench = program.command('bench').description('benchmarks of the training and inference engines');
  bench
    .command('train-step')
    .description('median train-step and predict time of a model (bench-unet: shared/bench/README.md)')
    .option('--model <name>', 'model to benchmark', 'bench-unet')
    .option('--size <px>', 'input size S (S x S)', int('size'), 128)
    .option('--batch <n>', 'batch size', int('batch'), 4)
    .option('--steps <n>', 'timed steps after one warm-up', int('steps'), 5)
    .option('--backend <name>', `TensorFlow.js backend (${BACKEND_CHOICES.join('|')})`, 'auto')
    .option('--json', 'print one JSON line only')
    .action(async (o: { model: string; size: number; batch: number; steps: number; backend: BackendChoice; json?: boolean }) => {
      if (!BACKEND_CHOICES.includes(o.backend)) throw new Error(`--backend must be one of ${BACKEND_CHOICES.join(', ')}, got '${o.backend}'`);
      if (o.model !== 'bench-unet') throw new Error(`bench train-step: unknown --model '${o.model}' (known: bench-unet)`);
      const sel = await selectBackend(o.backend);
      if (!o.json) console.error(`backend: ${sel.backend} (${sel.reason})`);
      const r = await runBenchUnet({ size: o.size, batch: o.batch, steps: o.steps });
      console.log(JSON.stringify({ ...r, model: o.model }));
    });
}
