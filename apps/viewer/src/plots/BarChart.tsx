import { Axes, Legend, PLOT } from './Axes';
import { extent, linearScale, SERIES_COLOURS } from './scale';

export interface Bar {
  group: string;
  series: string;
  mean: number | null;
  std: number | null;
  n: number;
}

/** Grouped bars (groups = intervals, series = variants or runs) with +-1 std error bars. */
export function BarChart({ bars, groups, series, yLabel, label }: { bars: Bar[]; groups: string[]; series: string[]; yLabel: string; label: string }) {
  const tops = bars.flatMap((b) => (b.mean === null ? [] : [b.mean + (b.std ?? 0), b.mean - (b.std ?? 0)]));
  const [lo, hi] = extent([0, ...tops], 0.05);
  const x = linearScale([0, Math.max(1, groups.length)], [PLOT.left, PLOT.width - PLOT.right]);
  const y = linearScale([Math.min(0, lo), hi], [PLOT.height - PLOT.bottom, PLOT.top]);
  const groupW = x(1) - x(0);
  const barW = (groupW * 0.8) / Math.max(1, series.length);
  return (
    <figure className="plot">
      <svg viewBox={`0 0 ${PLOT.width} ${PLOT.height}`} role="img" aria-label={label}>
        <Axes x={x} y={y} xLabel="fbRatio interval" yLabel={yLabel} xTicks={groups.map((g, i) => ({ value: i + 0.5, label: g }))} />
        {bars.map((b) => {
          const gi = groups.indexOf(b.group);
          const si = series.indexOf(b.series);
          if (gi < 0 || si < 0 || b.mean === null) return null;
          const bx = x(gi) + groupW * 0.1 + si * barW;
          const cx = bx + barW / 2;
          const colour = SERIES_COLOURS[si % SERIES_COLOURS.length];
          return (
            <g key={`${b.group}/${b.series}`} data-testid="bar">
              <rect x={bx + 1} width={Math.max(1, barW - 2)} y={Math.min(y(b.mean), y(0))} height={Math.abs(y(0) - y(b.mean))} fill={colour}>
                <title>{`${b.series} ${b.group}: ${b.mean.toFixed(2)} ± ${(b.std ?? 0).toFixed(2)} (n=${b.n})`}</title>
              </rect>
              {b.std !== null && b.std > 0 && (
                <g stroke="#222">
                  <line x1={cx} x2={cx} y1={y(b.mean - b.std)} y2={y(b.mean + b.std)} />
                  <line x1={cx - 4} x2={cx + 4} y1={y(b.mean - b.std)} y2={y(b.mean - b.std)} />
                  <line x1={cx - 4} x2={cx + 4} y1={y(b.mean + b.std)} y2={y(b.mean + b.std)} />
                </g>
              )}
            </g>
          );
        })}
      </svg>
      <Legend items={series.map((s, i) => ({ name: s, colour: SERIES_COLOURS[i % SERIES_COLOURS.length] }))} />
      <figcaption>{label}</figcaption>
    </figure>
  );
}
