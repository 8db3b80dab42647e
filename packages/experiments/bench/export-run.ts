// Exports a stored run to ONNX: npx tsx packages/experiments/bench/export-run.ts <store> <runId> <file>
import { usePortableBackend } from '@mrlseg/models';
import { exportRunOnnx, openStore } from '../src/index';

await usePortableBackend('cpu');
const s = await openStore(process.argv[2]);
console.log(await exportRunOnnx(s, process.argv[3], process.argv[4]));
await s.close();
