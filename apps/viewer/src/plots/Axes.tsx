import type { LinearScale } from './scale';
import { formatTick } from './scale';

export const PLOT = { width: 640, height: 300, left: 56, right: 16, top: 16, bottom: 44 };

/** Left and bottom axes with grid lines and labels, in the plot's viewBox coordinates. */
export function Axes({ x, y, xLabel, yLabel, xTicks }: { x: LinearScale; y: LinearScale; xLabel: string; yLabel: string; xTicks?: { value: number; label: string }[] }) {
  const [x0, x1] = x.range;
  const [y0, y1] = y.range;
  const xt = xTicks ?? x.ticks(6).map((v) => ({ value: v, label: formatTick(v) }));
  return (
    <g className="axes" fontSize={11} fill="currentColor">
      {y.ticks(5).map((t) => (
        <g key={`y${t}`}>
          <line x1={x0} x2={x1} y1={y(t)} y2={y(t)} stroke="#ddd" />
          <text x={x0 - 6} y={y(t) + 4} textAnchor="end">
            {formatTick(t)}
          </text>
        </g>
      ))}
      {xt.map((t) => (
        <text key={`x${t.label}`} x={x(t.value)} y={y0 + 16} textAnchor="middle">
          {t.label}
        </text>
      ))}
      <line x1={x0} x2={x1} y1={y0} y2={y0} stroke="#666" />
      <line x1={x0} x2={x0} y1={y0} y2={y1} stroke="#666" />
      <text x={(x0 + x1) / 2} y={y0 + 36} textAnchor="middle">
        {xLabel}
      </text>
      <text transform={`translate(14 ${(y0 + y1) / 2}) rotate(-90)`} textAnchor="middle">
        {yLabel}
      </text>
    </g>
  );
}

export function Legend({ items }: { items: { name: string; colour: string }[] }) {
  return (
    <div className="legend">
      {items.map((it) => (
        <span key={it.name}>
          <i style={{ background: it.colour }} /> {it.name}
        </span>
      ))}
    </div>
  );
}
