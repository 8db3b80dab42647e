/** `mrlseg queue status`: jobs of the grid queue per experiment (waiting / active / completed / failed). */
import type { Command } from 'commander';
import { queueStatus, renderQueueStatus } from '@mrlseg/experiments';

export function register(program: Command): void {
  const queue = program.command('queue').description('the experiment job queue (mrlseg cv --queue, mrlseg worker)');
  queue
    .command('status')
    .description('waiting / active / completed / failed jobs per experiment, the active jobs with their worker and epoch, the failed ones with their error')
    .requiredOption('--queue <url>', 'the grid queue: redis://host:port[/db]')
    .option('--json', 'print the status as JSON')
    .action(async (o: { queue: string; json?: boolean }) => {
      const s = await queueStatus(o.queue);
      console.log(o.json ? JSON.stringify(s, null, 2) : renderQueueStatus(s));
    });
}
