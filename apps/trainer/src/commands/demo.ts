/**
 * `mrlseg demo`: the main job. Generates the synthetic imbalanced dataset, runs the five ablation
 * variants of Table V on one fold with the small demo config, prints the ablation table and the
 * per-interval tables, stores everything for the API and the viewer, and exports the best run to
 * ONNX (`artifacts/<runId>/model.onnx` in the store).
 */
import { join } from 'node:path';
import type { Command } from 'commander';
import { BACKEND_CHOICES, CONV_ENGINES, parseConvEngine, selectBackend, type BackendChoice } from '../backend';
import { createProgress } from '../progress';
import { addStoreFlags, openStoreFromFlags, type StoreFlags } from '../store-flags';
import { summarize, withInterrupt } from './train';

export function register(program: Command): void {
  addStoreFlags(
    program
    .command('demo')
    .description('the main job: synthetic dataset, the five ablation variants on one fold, the ablation table, everything stored, best model exported to ONNX')
  )
    .option('--backend <name>', `TensorFlow.js backend (${BACKEND_CHOICES.join('|')})`, 'auto')
    .option('--conv-engine <name>', `convolutions on the wasm backend (${CONV_ENGINES.join('|')}; default onnxruntime when it loads)`)
    .option('--resume', 'continue an interrupted demo in this store')
    .option('--json', 'print the report as JSON instead of Markdown tables')
    .action(async (o: StoreFlags & { backend: BackendChoice; convEngine?: string; resume?: boolean; json?: boolean }) => {
      if (!BACKEND_CHOICES.includes(o.backend)) throw new Error(`--backend must be one of ${BACKEND_CHOICES.join(', ')}, got '${o.backend}'`);
      const t0 = performance.now();
      const { RunInterrupted, buildReport, demoConfig, exportRunOnnx, renderReport, runExperiment } = await import('@mrlseg/experiments');
      const progress = createProgress();
      const sel = await selectBackend(o.backend, { convEngine: parseConvEngine(o.convEngine) });
      progress.log(`backend: ${sel.label} (${sel.reason})`);
      const config = demoConfig();
      const store = await openStoreFromFlags(o, { needsArtifacts: true });
      try {
        const result = await withInterrupt(progress.log, (signal) =>
          runExperiment(config, { store, backend: sel.label, resume: o.resume, signal, onProgress: progress.listener }),
        ).finally(() => progress.stop());
        const report = await buildReport(store, { experimentId: result.experimentId });
        const best = Object.entries(report.byVariant).sort((a, b) => (b[1].dice.Avg.mean ?? -1) - (a[1].dice.Avg.mean ?? -1))[0];
        const bestRun = report.variants.find((v) => v.variant === best[0])!.runs[0];
        const onnx = await exportRunOnnx(store, bestRun, join(store.runDir(bestRun), 'model.onnx'));
        if (o.json) console.log(renderReport(report, 'json'));
        else {
          console.log(summarize({ ...result, onnx: { runId: bestRun, path: onnx } }, store));
          console.log(`\n${renderReport(report, 'md')}`);
        }
        console.error(`demo finished in ${((performance.now() - t0) / 60000).toFixed(1)} min on ${sel.label}; store ${store.location}; best: ${best[0]} -> ${onnx}`);
        if (result.runs.some((r) => r.status === 'failed')) process.exitCode = 1;
      } catch (e) {
        if (e instanceof RunInterrupted) {
          console.error(`mrlseg: ${e.message} (mrlseg demo --resume --store ${store.location})`);
          process.exitCode = 130;
          return;
        }
        throw e;
      } finally {
        await store.close();
      }
    });
}
