/**
 * `mrlseg store copy --from <dir|url> --to <dir|url>`: moves a results store between SQLite and
 * PostgreSQL (either way) or between two databases, experiment by experiment, each in one
 * transaction; experiments already at the destination are skipped, so it can be rerun.
 */
import type { Command } from 'commander';

export function register(program: Command): void {
  const store = program.command('store').description('results store maintenance');
  store
    .command('copy')
    .description('copy every experiment (runs, curves, checkpoints, cases, artifact files) from one store to another: a folder (SQLite) or postgres://user@host:port/database, either way')
    .requiredOption('--from <dir|url>', 'source store (opened read-only)')
    .requiredOption('--to <dir|url>', 'destination store (created and migrated if new)')
    .option('--from-artifacts <dir>', 'artifacts folder of the source (default <from>/artifacts for a folder store)')
    .option('--to-artifacts <dir>', 'artifacts folder of the destination (default <to>/artifacts for a folder store; required for PostgreSQL)')
    .option('--json', 'print the result as JSON')
    .action(async (o: { from: string; to: string; fromArtifacts?: string; toArtifacts?: string; json?: boolean }) => {
      const { copyStore } = await import('@mrlseg/experiments');
      const r = await copyStore(o.from, o.to, {
        fromArtifacts: o.fromArtifacts,
        toArtifacts: o.toArtifacts,
        onExperiment: (id, copied) => process.stderr.write(`${copied ? 'copied ' : 'skipped (already there) '}${id}\n`),
      });
      if (o.json) console.log(JSON.stringify(r, null, 2));
      else {
        console.log(
          `copied ${r.experiments.length} experiment(s), ${r.runs} run(s), ${r.epochs} epoch row(s), ${r.cases} case(s) from ${r.from} to ${r.to}` +
            `${r.skipped.length ? `; skipped ${r.skipped.length} already there (${r.skipped.join(', ')})` : ''}${r.filesCopied ? '; artifact files copied' : ''}`,
        );
      }
    });
}
