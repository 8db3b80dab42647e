import { Axes, Legend, PLOT } from './Axes';
import { extent, linearScale, SERIES_COLOURS } from './scale';

export interface ScatterPoint {
  x: number;
  y: number;
  id: string;
  title?: string;
}
export interface ScatterSeries {
  name: string;
  points: ScatterPoint[];
}

/** Per-case scatter (e.g. Dice vs fbRatio): one colour per series, click a point to open it. */
export function ScatterPlot({
  series,
  xLabel,
  yLabel,
  yDomain,
  xEdges,
  onPoint,
  label,
}: {
  series: ScatterSeries[];
  xLabel: string;
  yLabel: string;
  yDomain?: [number, number];
  /** vertical guide lines (e.g. interval edges) */
  xEdges?: number[];
  onPoint?: (series: string, id: string) => void;
  label: string;
}) {
  const all = series.flatMap((s) => s.points);
  const x = linearScale(extent([...all.map((p) => p.x), ...(xEdges ?? [])], 0.02), [PLOT.left, PLOT.width - PLOT.right]);
  const y = linearScale(yDomain ?? extent(all.map((p) => p.y), 0.05), [PLOT.height - PLOT.bottom, PLOT.top]);
  return (
    <figure className="plot">
      <svg viewBox={`0 0 ${PLOT.width} ${PLOT.height}`} role="img" aria-label={label}>
        <Axes x={x} y={y} xLabel={xLabel} yLabel={yLabel} />
        {(xEdges ?? []).map((e) => (
          <line key={e} x1={x(e)} x2={x(e)} y1={y.range[0]} y2={y.range[1]} stroke="#bbb" strokeDasharray="3 3" />
        ))}
        {series.map((s, si) => (
          <g key={s.name} fill={SERIES_COLOURS[si % SERIES_COLOURS.length]} fillOpacity={0.75}>
            {s.points
              .filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y))
              .map((p) => (
                <circle
                  key={p.id}
                  data-testid="scatter-point"
                  cx={x(p.x)}
                  cy={y(p.y)}
                  r={3.5}
                  style={{ cursor: onPoint ? 'pointer' : undefined }}
                  onClick={onPoint ? () => onPoint(s.name, p.id) : undefined}
                >
                  <title>{p.title ?? p.id}</title>
                </circle>
              ))}
          </g>
        ))}
      </svg>
      {series.length > 1 && <Legend items={series.map((s, i) => ({ name: s.name, colour: SERIES_COLOURS[i % SERIES_COLOURS.length] }))} />}
      <figcaption>{label}</figcaption>
    </figure>
  );
}
