/** `mrlseg report`: the paper's tables (Dice and HD per fbRatio interval, Table V ablation) from a results store. */
import type { Command } from 'commander';
import { REPORT_FORMATS, type ReportFormat } from '@mrlseg/types/constants';
import { addStoreFlags, openStoreFromFlags, type StoreFlags } from '../store-flags';

export function register(program: Command): void {
  addStoreFlags(
    program
    .command('report')
    .description('paper-style tables from the results store: Dice and HD per fbRatio interval (mean±std, * paired t-test vs the best other row) and the ablation table')
  )
    .option('--experiment <id>', 'experiment id (default: the most recent)')
    .option('--runs <ids>', 'comma-separated run ids instead of an experiment')
    .option('--format <fmt>', `output format: ${REPORT_FORMATS.join('|')}`, 'md')
    .option('--test <name>', "paired test for the asterisks: t (the paper's) or wilcoxon", 't')
    .action(async (o: StoreFlags & { experiment?: string; runs?: string; format: string; test: string }) => {
      if (!(REPORT_FORMATS as readonly string[]).includes(o.format)) throw new Error(`--format must be one of ${REPORT_FORMATS.join(', ')}, got '${o.format}'`);
      if (o.test !== 't' && o.test !== 'wilcoxon') throw new Error(`--test must be t or wilcoxon, got '${o.test}'`);
      const { buildReport, renderReport } = await import('@mrlseg/experiments');
      const store = await openStoreFromFlags(o, { readonly: true });
      try {
        const report = await buildReport(store, { experimentId: o.experiment, runIds: o.runs?.split(',').map((s) => s.trim()).filter(Boolean), test: o.test });
        process.stdout.write(renderReport(report, o.format as ReportFormat));
      } finally {
        await store.close();
      }
    });
}
