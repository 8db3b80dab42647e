/**
 * Load benchmark of POST /api/v1/segment: 32 concurrent clients on loopback (127.0.0.1 only)
 * send a 512 x 512 PNG until a fixed number of requests is done (or a time cap), then print
 * requests per second and p50/p95/max latency. The server runs as its own process
 * (bin/mrlseg-api.mjs), as users run it; it stops by itself.
 *
 *   npx tsx apps/eval-api/bench/load.bench.ts [--model tiny|seg-net] [--requests 256] [--clients 32]
 *       [--size 512] [--model-size 128] [--concurrency n] [--max-seconds 120] [--format png|json]
 *
 * Models: `tiny` (probabilities = input, at the image size: measures the API itself: upload,
 * decode, resize, queue, PNG encoding) or `seg-net` (an untrained Segmentation-Net, cpu preset,
 * exported by @mrlseg/models at --model-size: the realistic cost, dominated by inference).
 * With --format json the server's own timings are summarised too (queue wait vs inference).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { encodeGreyPng } from '@mrlseg/data';
import { buildSegmentationNet, exportOnnx } from '@mrlseg/models';
import { SEG_NET_PRESETS } from '@mrlseg/types';
import { writeTinyModel } from '../test/helpers/tiny-onnx';

const { values } = parseArgs({
  options: {
    model: { type: 'string', default: 'tiny' },
    requests: { type: 'string', default: '256' },
    clients: { type: 'string', default: '32' },
    size: { type: 'string', default: '512' },
    'model-size': { type: 'string', default: '128' },
    concurrency: { type: 'string' },
    'max-seconds': { type: 'string', default: '120' },
    format: { type: 'string', default: 'png' },
  },
});
const total = Number(values.requests);
const clients = Number(values.clients);
const size = Number(values.size);
const modelSize = Number(values['model-size']);
const maxMs = Number(values['max-seconds']) * 1000;
for (const [k, v] of Object.entries({ requests: total, clients, size, 'model-size': modelSize, 'max-seconds': maxMs })) {
  if (!Number.isInteger(v) || v <= 0) throw new Error(`load.bench: --${k} must be a positive integer`);
}
if (values.model !== 'tiny' && values.model !== 'seg-net') throw new Error(`load.bench: --model must be tiny or seg-net, got ${values.model}`);
if (values.format !== 'png' && values.format !== 'json') throw new Error(`load.bench: --format must be png or json, got ${values.format}`);

const tmp = mkdtempSync(join(tmpdir(), 'mrlseg-load-'));
const modelPath = join(tmp, 'model.onnx');
if (values.model === 'tiny') {
  writeTinyModel(modelPath, { size });
} else {
  const seg = buildSegmentationNet(SEG_NET_PRESETS.cpu, { inputSize: modelSize, seed: 1 });
  writeFileSync(modelPath, exportOnnx(seg));
  seg.dispose();
}

// A 512 x 512 ultrasound-like test image: a bright ellipse on speckle.
const px = new Uint8Array(size * size);
let s = 12345;
for (let y = 0; y < size; y++) {
  for (let x = 0; x < size; x++) {
    s = (s * 1103515245 + 12345) >>> 0;
    const inside = ((x - size / 2) / (size / 5)) ** 2 + ((y - size / 2) / (size / 7)) ** 2 < 1;
    px[y * size + x] = Math.min(255, (inside ? 170 : 60) + (s >>> 26));
  }
}
const png = await encodeGreyPng(px, size, size);

const bin = resolve(import.meta.dirname, '..', 'bin', 'mrlseg-api.mjs');
const args = [bin, '--port', '0', '--host', '127.0.0.1', '--model', modelPath, '--rate-limit', '0', '--log-level', 'warn', '--max-queue', String(clients * 2)];
if (values.concurrency) args.push('--concurrency', values.concurrency);
const child = spawn(process.execPath, args, { stdio: ['ignore', 'inherit', 'pipe'] });
try {
  const url = await new Promise<string>((ok, fail) => {
    let err = '';
    child.stderr!.on('data', (c) => {
      err += c;
      const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(err);
      if (m) ok(m[1]);
    });
    child.on('exit', (code) => fail(new Error(`server exited ${code}: ${err}`)));
  });
  const health = (await (await fetch(`${url}/health`)).json()) as { queue: { concurrency: number } };

  const server: { queueMs: number[]; inferenceMs: number[] } = { queueMs: [], inferenceMs: [] };
  const send = async () => {
    const form = new FormData();
    form.append('image', new Blob([new Uint8Array(png)], { type: 'image/png' }), 'bench.png');
    const t0 = performance.now();
    const res = await fetch(`${url}/api/v1/segment?format=${values.format}`, { method: 'POST', body: form });
    const body = new Uint8Array(await res.arrayBuffer());
    const ms = performance.now() - t0;
    if (res.status !== 200 || body.length < 8) throw new Error(`segment answered ${res.status}: ${new TextDecoder().decode(body).slice(0, 200)}`);
    if (values.format === 'json') {
      const t = (JSON.parse(new TextDecoder().decode(body)) as { timings: { queueMs: number; inferenceMs: number } }).timings;
      server.queueMs.push(t.queueMs);
      server.inferenceMs.push(t.inferenceMs);
    }
    return ms;
  };

  // Warm-up: the session is created on the first request.
  await send();
  const latencies: number[] = [];
  let issued = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (issued < total && performance.now() - start < maxMs) {
        issued++;
        latencies.push(await send());
      }
    }),
  );
  const wall = (performance.now() - start) / 1000;
  const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
  /** Nearest-rank percentile of an ascending list. */
  const pct = (xs: number[], p: number) => xs[Math.min(xs.length - 1, Math.ceil((p / 100) * xs.length) - 1)];
  latencies.sort((a, b) => a - b);
  const q = (p: number) => pct(latencies, p);
  const fmt = (ms: number) => `${ms.toFixed(1)} ms`;
  console.log(
    [
      `POST /api/v1/segment, ${size} x ${size} PNG (${png.length} bytes), model ${values.model}${values.model === 'seg-net' ? ` (cpu preset, ${modelSize} px input)` : ` (${size} px input)`}`,
      `clients ${clients}, server inference concurrency ${health.queue.concurrency}, requests ${latencies.length} in ${wall.toFixed(2)} s`,
      `throughput ${(latencies.length / wall).toFixed(1)} requests/s`,
      `latency p50 ${fmt(q(50))}, p95 ${fmt(q(95))}, max ${fmt(latencies[latencies.length - 1])}`,
      ...(values.format === 'json'
        ? [
            `server queue wait p50 ${fmt(pct(sorted(server.queueMs), 50))}, p95 ${fmt(pct(sorted(server.queueMs), 95))}; inference p50 ${fmt(pct(sorted(server.inferenceMs), 50))}, p95 ${fmt(pct(sorted(server.inferenceMs), 95))}`,
          ]
        : []),
    ].join('\n'),
  );
} finally {
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  rmSync(tmp, { recursive: true, force: true });
}
