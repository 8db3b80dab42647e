/**
 * How the bench-unet train step and predict grow with image size (64..512, batch 4) and batch
 * (1..8 at 128 px), for TensorFlow.js wasm (1 process and 2 workers), onnxruntime predict and
 * PyTorch (2 threads), each point measured back to back; plus the peak RSS of the training
 * processes. The wasm train steps run their convolutions on `--conv-engine` (default onnxruntime;
 * `wasm` for the backend's own kernels), reported as `convEngine`.
 *
 *   npx tsx packages/models/bench/scaling.ts [--steps 3] [--conv-engine onnxruntime|wasm]
 *
 * Prints one JSON line per point and the load average before each.
 */
import { execFileSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const i = process.argv.indexOf('--steps');
const steps = i > 0 ? process.argv[i + 1] : '3';
const run = (cmd: string, args: string[]) => JSON.parse(execFileSync(cmd, args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim().split('\n').pop()!);
const cli = (args: string[]) => run(process.execPath, [join(root, 'apps', 'trainer', 'bin', 'mrlseg.mjs'), ...args]);
const torch = join(root, '..', 'shared', 'bench', 'torch_bench_unet.py');

const e = process.argv.indexOf('--conv-engine');
const convEngine = e > 0 ? process.argv[e + 1] : 'onnxruntime';
const only = process.argv.indexOf('--points');
const all: [number, number][] = [
  [64, 4],
  [128, 4],
  [256, 4],
  [512, 4],
  [128, 1],
  [128, 2],
  [128, 8],
];
// --points 128x1,128x2 runs a subset
const points = only > 0 ? process.argv[only + 1].split(',').map((p) => p.split('x').map(Number) as [number, number]) : all;
for (const [size, batch] of points) {
  const common = ['--size', String(size), '--batch', String(batch), '--steps', steps, '--json'];
  const train = ['bench', 'train-step', '--backend', 'wasm', '--conv-engine', convEngine];
  const load = loadavg()[0];
  const pt = run('/usr/bin/python3', [torch, '--threads', '2', '--size', String(size), '--batch', String(batch), '--steps', steps]);
  const w1 = cli([...train, ...common]);
  const w2 = batch >= 2 ? cli([...train, '--workers', '2', ...common]) : { trainStepMs: null, peakRssMiB: null };
  const ort = cli(['bench', 'predict', '--engine', 'onnxruntime', ...common]);
  console.log(
    JSON.stringify({
      size,
      batch,
      load1: Number(load.toFixed(2)),
      convEngine: w1.convEngine,
      torchTrainMs: pt.trainStepMs,
      torchPredictMs: pt.predictMs,
      wasmTrainMs: w1.trainStepMs,
      wasm2WorkersTrainMs: w2.trainStepMs,
      wasmPredictMs: w1.predictMs,
      ortPredictMs: ort.predictMs,
      wasmPeakRssMiB: w1.peakRssMiB,
      wasm2WorkersPeakRssMiB: w2.peakRssMiB,
    }),
  );
}
