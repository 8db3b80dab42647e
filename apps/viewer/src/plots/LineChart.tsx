import { Axes, Legend, PLOT } from './Axes';
import { extent, formatTick, linearScale, SERIES_COLOURS } from './scale';

export interface LineSeries {
  name: string;
  points: { x: number; y: number }[];
}

/** Lines with point markers (training curves); series with no finite point are left out. */
export function LineChart({ series, xLabel, yLabel, label }: { series: LineSeries[]; xLabel: string; yLabel: string; label: string }) {
  const shown = series.map((s) => ({ ...s, points: s.points.filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y)) })).filter((s) => s.points.length > 0);
  const all = shown.flatMap((s) => s.points);
  const x = linearScale(extent(all.map((p) => p.x)), [PLOT.left, PLOT.width - PLOT.right]);
  const y = linearScale(extent(all.map((p) => p.y), 0.08), [PLOT.height - PLOT.bottom, PLOT.top]);
  // epochs are whole numbers: no 1.2, 1.4 ... ticks
  const integerX = all.every((p) => Number.isInteger(p.x));
  const xTicks = integerX ? x.ticks(6).filter((t) => Number.isInteger(t)).map((t) => ({ value: t, label: formatTick(t) })) : undefined;
  return (
    <figure className="plot">
      {shown.length === 0 ? (
        <p className="muted">No {yLabel.toLowerCase()} recorded for this run.</p>
      ) : (
        <svg viewBox={`0 0 ${PLOT.width} ${PLOT.height}`} role="img" aria-label={label}>
          <Axes x={x} y={y} xLabel={xLabel} yLabel={yLabel} xTicks={xTicks} />
          {shown.map((s) => {
            const colour = SERIES_COLOURS[series.indexOf(series.find((o) => o.name === s.name)!) % SERIES_COLOURS.length];
            return (
              <g key={s.name} stroke={colour} fill={colour} data-testid="line-series">
                <polyline fill="none" strokeWidth={2} points={s.points.map((p) => `${x(p.x)},${y(p.y)}`).join(' ')} />
                {s.points.map((p) => (
                  <circle key={p.x} cx={x(p.x)} cy={y(p.y)} r={2.5}>
                    <title>{`${s.name} ${p.x}: ${p.y}`}</title>
                  </circle>
                ))}
              </g>
            );
          })}
        </svg>
      )}
      {shown.length > 1 && <Legend items={shown.map((s) => ({ name: s.name, colour: SERIES_COLOURS[series.findIndex((o) => o.name === s.name) % SERIES_COLOURS.length] }))} />}
      <figcaption>{label}</figcaption>
    </figure>
  );
}
