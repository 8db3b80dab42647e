/**
 * Back-to-back ratio of the TensorFlow.js / onnxruntime figures to PyTorch's on this machine
 * (issue 10 targets: bench-unet train step <= 2.0x, onnxruntime predict <= 1.0x).
 *
 *   npx tsx packages/models/bench/compare-pytorch.ts [--size 128] [--batch 4] [--rounds 3] [--workers 2] [--legacy]
 *
 * Each round runs, one after the other: PyTorch (shared/bench/torch_bench_unet.py, 2 threads);
 * `mrlseg bench train-step --backend wasm` with the convolutions on onnxruntime (the default:
 * one process with --workers onnxruntime threads, then --workers data-parallel workers with one
 * thread each) and on the wasm backend's own kernels (1 thread; with --legacy also --workers
 * workers); and `mrlseg bench predict --engine onnxruntime`. Prints every JSON line, then the
 * medians over the rounds, the ratios and the load average. Needs /usr/bin/python3 with torch.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const size = arg('size', 128);
const batch = arg('batch', 4);
const rounds = arg('rounds', 3);
const workers = arg('workers', 2);
const legacy = process.argv.includes('--legacy');
const torchScript = join(root, '..', 'shared', 'bench', 'torch_bench_unet.py');
const python = '/usr/bin/python3';
if (!existsSync(torchScript)) throw new Error(`compare-pytorch: ${torchScript} not found`);

const json = (cmd: string, args: string[]): Record<string, number | string> => {
  const out = execFileSync(cmd, args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim().split('\n').pop()!;
  console.log(out);
  return JSON.parse(out);
};
const cli = (args: string[]) => json(process.execPath, [join(root, 'apps', 'trainer', 'bin', 'mrlseg.mjs'), ...args]);
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const rows: Record<string, number[]> = {};
const put = (k: string, v: number | string) => (rows[k] ??= []).push(Number(v));
const common = ['--size', String(size), '--batch', String(batch), '--json'];
for (let r = 0; r < rounds; r++) {
  console.log(`# round ${r + 1}, load average ${loadavg().map((v) => v.toFixed(2)).join(' ')}`);
  const pt = json(python, [torchScript, '--threads', '2', '--size', String(size), '--batch', String(batch)]);
  put('torchTrain', pt.trainStepMs);
  put('torchPredict', pt.predictMs);
  const ort = cli(['bench', 'train-step', '--backend', 'wasm', '--conv-engine', 'onnxruntime', '--conv-threads', String(workers), ...common]);
  put('tfjsOrtTrain', ort.trainStepMs);
  put('tfjsOrtPredict', ort.predictMs);
  if (workers > 1) put('tfjsOrtTrainN', cli(['bench', 'train-step', '--backend', 'wasm', '--conv-engine', 'onnxruntime', '--workers', String(workers), ...common]).trainStepMs);
  const one = cli(['bench', 'train-step', '--backend', 'wasm', '--conv-engine', 'wasm', ...common]);
  put('tfjsWasmTrain1', one.trainStepMs);
  put('tfjsWasmPredict', one.predictMs);
  if (legacy && workers > 1) put('tfjsWasmTrainN', cli(['bench', 'train-step', '--backend', 'wasm', '--conv-engine', 'wasm', '--workers', String(workers), ...common]).trainStepMs);
  put('ortPredict', cli(['bench', 'predict', '--engine', 'onnxruntime', ...common]).predictMs);
}
const m = Object.fromEntries(Object.entries(rows).map(([k, v]) => [k, median(v)]));
const ratio = (a: string, b: string) => (m[a] / m[b]).toFixed(2);
console.log(
  JSON.stringify({
    size,
    batch,
    rounds,
    medians: m,
    ratios: {
      [`trainWasmOrt${workers}Threads`]: ratio('tfjsOrtTrain', 'torchTrain'),
      ...(workers > 1 ? { [`trainWasmOrt${workers}Workers`]: ratio('tfjsOrtTrainN', 'torchTrain') } : {}),
      trainWasm1: ratio('tfjsWasmTrain1', 'torchTrain'),
      ...(legacy && workers > 1 ? { [`trainWasm${workers}Workers`]: ratio('tfjsWasmTrainN', 'torchTrain') } : {}),
      predictTfjsOrt: ratio('tfjsOrtPredict', 'torchPredict'),
      predictTfjsWasm: ratio('tfjsWasmPredict', 'torchPredict'),
      predictOnnxruntime: ratio('ortPredict', 'torchPredict'),
    },
    loadAverage: loadavg().map((v) => Number(v.toFixed(2))),
  }),
);
