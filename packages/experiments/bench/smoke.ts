import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ExperimentConfigSchema } from '@mrlseg/types';
import { usePortableBackend } from '@mrlseg/models';
import { openStore, runExperiment } from '../src/index';

await usePortableBackend('wasm');
const size = Number(process.env.SIZE ?? 32);
const config = ExperimentConfigSchema.parse({
  name: 'smoke',
  dataset: { format: 'synthetic', synthetic: { count: Number(process.env.COUNT ?? 16), slicesPerPatient: 2, size, seed: 1 } },
  preprocessing: { size },
  model: { preset: 'custom', segNet: { channels: [8, 16, 16, 32], hidden: 32, layers: 1, heads: 2, mlp: 64, decoderChannels: [16, 16, 8, 8] } },
  training: { epochs: Number(process.env.E ?? 2), rlEpochs: Number(process.env.R ?? 1), batchSize: 4, rlBatchSize: 4 },
  folds: { k: 4, only: [0] },
  variants: (process.env.V ?? 'onlyseg,rl-fb-adp-seg').split(','),
});
const dir = process.env.STORE ?? mkdtempSync(join(tmpdir(), 'smoke-'));
const store = await openStore(dir);
const t0 = Date.now();
const r = await runExperiment(config, { store, backend: 'wasm', onProgress: (e) => { if (e.type !== 'step') console.log(JSON.stringify(e)); }, exportOnnx: join(dir, 'best.onnx') });
console.log(JSON.stringify(r, null, 1), (Date.now() - t0) / 1000, 's', dir);
await store.close();
