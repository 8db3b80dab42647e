/** Linear scales and tick values for the SVG plots. */

export interface LinearScale {
  (v: number): number;
  domain: [number, number];
  range: [number, number];
  ticks(count?: number): number[];
}

/** "Nice" step (1, 2 or 5 x 10^k) giving about `count` ticks over [lo, hi]. */
export function niceStep(lo: number, hi: number, count: number): number {
  const span = Math.abs(hi - lo) || 1;
  const raw = span / Math.max(1, count);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const f = raw / mag;
  return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * mag;
}

export function linearScale(domain: [number, number], range: [number, number]): LinearScale {
  let [d0, d1] = domain;
  if (d0 === d1) {
    d0 -= 0.5;
    d1 += 0.5;
  }
  const [r0, r1] = range;
  const f = ((v: number) => r0 + ((v - d0) / (d1 - d0)) * (r1 - r0)) as LinearScale;
  f.domain = [d0, d1];
  f.range = range;
  f.ticks = (count = 5) => {
    const step = niceStep(d0, d1, count);
    const out: number[] = [];
    for (let t = Math.ceil(d0 / step) * step; t <= d1 + step * 1e-9; t += step) out.push(Number(t.toPrecision(12)));
    return out;
  };
  return f;
}

/** [min, max] of finite values, padded by `pad` of the span; [0, 1] when there are none. */
export function extent(values: Iterable<number>, pad = 0): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (!Number.isFinite(v)) continue;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (lo === Infinity) return [0, 1];
  const p = (hi - lo) * pad;
  return [lo - p, hi + p];
}

export function formatTick(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1000 || a < 0.01) return v.toExponential(1);
  return String(Number(v.toPrecision(3)));
}

/** Qualitative palette (Okabe-Ito, colour-blind safe) for series. */
export const SERIES_COLOURS = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00', '#56B4E9', '#F0E442', '#000000'];
