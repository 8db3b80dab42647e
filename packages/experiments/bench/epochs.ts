// Prints the training curve of every run in a store: npx tsx packages/experiments/bench/epochs.ts <store>
import { openStore } from '../src/index';

const s = await openStore(process.argv[2], { readonly: true });
for (const r of (await s.listRuns())) console.log(r.id, JSON.stringify((await s.epochs(r.id)).map((e) => [e.phase, e.epoch, e.loss])));
await s.close();
