/**
 * Speed of the surface-distance metrics on 512 x 512 masks (the paper's resolution).
 *   npx tsx packages/metrics/bench/metrics.bench.ts [--pairs 20] [--json]
 * Prints, per mask scenario: median ms per pair of HD + HD95 (computeSurfaceDistances + both
 * statistics) and of the full metric set (computeSegmentationMetrics), and pairs per second, as
 * wall-clock time and as this process's CPU time (process.cpuUsage; on a busy machine the CPU time is
 * the better estimate of one core's cost). Single-threaded: one pair uses one core.
 * Target (issue 3): HD/HD95 under 20 ms per pair on one core.
 */
import { computeSegmentationMetrics, computeSurfaceDistances, hausdorffFromDistances, hausdorffPercentileFromDistances } from '../src/index';

const N = 512;
const args = process.argv.slice(2);
const pairsArg = args.indexOf('--pairs');
const PAIRS = pairsArg >= 0 ? Number(args[pairsArg + 1]) : 20;
if (!Number.isInteger(PAIRS) || PAIRS < 3) throw new Error(`--pairs must be an integer >= 3, got ${args[pairsArg + 1]}`);
const json = args.includes('--json');

function disc(cx: number, cy: number, r: number, wobble: number, seed: number): Uint8Array {
  const m = new Uint8Array(N * N);
  for (let y = 0; y < N; y++) {
    for (let x = 0; x < N; x++) {
      const a = Math.atan2(y - cy, x - cx);
      const rr = r * (1 + wobble * Math.sin(5 * a + seed));
      if ((x - cx) ** 2 + (y - cy) ** 2 <= rr * rr) m[y * N + x] = 1;
    }
  }
  return m;
}

// Scenarios: a small lesion (fbRatio ~0.4 %, the paper's hardest interval), a large one (~25 %), and
// a prediction scattered over the whole image (bounding box = full 512 x 512, worst case).
const scenarios: Array<{ name: string; make: (s: number) => [Uint8Array, Uint8Array] }> = [
  { name: 'small lesion r=18', make: (s) => [disc(256 + (s % 5), 250, 18, 0.15, s), disc(256, 256, 18, 0.1, s + 1)] },
  { name: 'large lesion r=150', make: (s) => [disc(256 + (s % 7), 250, 150, 0.1, s), disc(256, 256, 150, 0.08, s + 1)] },
  {
    name: 'full-image scatter',
    make: (s) => {
      const p = disc(256, 256, 60, 0.1, s);
      for (let i = 0; i < 40; i++) p[((i * 7919 + s * 131) % (N * N))] = 1; // false positives everywhere
      p[0] = 1;
      p[N * N - 1] = 1;
      return [p, disc(250, 260, 60, 0.1, s + 2)];
    },
  },
];

/** CPU ns per element of a plain Float64Array sum: a yardstick of this machine's speed (about 1 ns on an idle desktop core). */
function yardstickNs(): number {
  const a = new Float64Array(1 << 20).map((_, i) => i % 7);
  let sum = 0;
  const c = process.cpuUsage();
  for (let k = 0; k < 20; k++) for (let i = 0; i < a.length; i++) sum += a[i];
  const u = process.cpuUsage(c);
  if (sum < 0) throw new Error('unreachable');
  return ((u.user + u.system) * 1000) / (20 * a.length);
}

const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
const results = [];
for (const sc of scenarios) {
  const pairs = Array.from({ length: PAIRS }, (_, i) => sc.make(i));
  // warm-up (JIT)
  for (const [p, g] of pairs.slice(0, 3)) computeSegmentationMetrics(p, g, { width: N, height: N });
  const hdMs: number[] = [];
  const fullMs: number[] = [];
  const hdCpu: number[] = [];
  const fullCpu: number[] = [];
  const cpuMs = (c: NodeJS.CpuUsage) => (c.user + c.system) / 1000;
  for (const [p, g] of pairs) {
    let c = process.cpuUsage();
    let t = performance.now();
    const d = computeSurfaceDistances(p, g, N, N);
    hausdorffFromDistances(d);
    hausdorffPercentileFromDistances(d, 95, 'directed');
    hdMs.push(performance.now() - t);
    hdCpu.push(cpuMs(process.cpuUsage(c)));
    c = process.cpuUsage();
    t = performance.now();
    computeSegmentationMetrics(p, g, { width: N, height: N });
    fullMs.push(performance.now() - t);
    fullCpu.push(cpuMs(process.cpuUsage(c)));
  }
  const r = {
    scenario: sc.name,
    size: `${N}x${N}`,
    pairs: PAIRS,
    hdHd95MedianMs: +median(hdMs).toFixed(2),
    fullSetMedianMs: +median(fullMs).toFixed(2),
    fullSetPairsPerSecond: +(1000 / (fullMs.reduce((s, v) => s + v, 0) / fullMs.length)).toFixed(1),
    hdHd95MedianCpuMs: +median(hdCpu).toFixed(2),
    fullSetMedianCpuMs: +median(fullCpu).toFixed(2),
    fullSetPairsPerCpuSecond: +(1000 / (fullCpu.reduce((s, v) => s + v, 0) / fullCpu.length)).toFixed(1),
  };
  results.push(r);
  if (!json) {
    console.log(
      `${r.scenario.padEnd(20)} ${r.size}  HD+HD95 median ${r.hdHd95MedianMs.toFixed(2)} ms wall / ${r.hdHd95MedianCpuMs.toFixed(2)} ms CPU per pair;` +
        `  full set median ${r.fullSetMedianMs.toFixed(2)} ms wall / ${r.fullSetMedianCpuMs.toFixed(2)} ms CPU, ${r.fullSetPairsPerSecond} pairs/s wall, ${r.fullSetPairsPerCpuSecond} pairs/CPU-s`,
    );
  }
}
const yardstick = +yardstickNs().toFixed(2);
if (json) console.log(JSON.stringify({ node: process.version, yardstickNsPerElement: yardstick, results }));
else console.log(`node ${process.version}; yardstick ${yardstick} ns/element CPU for a plain array sum (about 1 on an idle desktop core): scale the figures by it; wall times also grow with other load`);
