import { useState } from 'react';
import { download, exportIntervalTable, type ExportFormat } from '../lib/export';
import { sortTable, type IntervalTable } from '../lib/tables';

const MIME: Record<ExportFormat, string> = { csv: 'text/csv', md: 'text/markdown', latex: 'application/x-latex' };
const EXT: Record<ExportFormat, string> = { csv: 'csv', md: 'md', latex: 'tex' };

export function ExportButtons({ make, name }: { make: (f: ExportFormat) => string; name: string }) {
  return (
    <span className="export">
      Export:
      {(['csv', 'latex', 'md'] as const).map((f) => (
        <button key={f} type="button" onClick={() => download(make(f), `${name}.${EXT[f]}`, MIME[f])}>
          {f === 'md' ? 'Markdown' : f === 'latex' ? 'LaTeX' : 'CSV'}
        </button>
      ))}
    </span>
  );
}

/** One of the paper's interval tables; click a header to sort by it (again to reverse). Exports follow the shown order. */
export function IntervalTableView({ table: it, name }: { table: IntervalTable; name: string }) {
  const [sort, setSort] = useState<{ col: number; dir: 'asc' | 'desc' } | null>(null);
  const table = sort ? sortTable(it.table, sort.col, sort.dir) : it.table;
  const runsOf = new Map(it.table.rows.map((r, i) => [r.label, it.runs[i]]));
  const header = (col: number, text: string) => {
    const active = sort?.col === col;
    const next = () => setSort({ col, dir: active && sort?.dir === 'desc' ? 'asc' : 'desc' });
    return (
      <th key={col} aria-sort={active ? (sort!.dir === 'asc' ? 'ascending' : 'descending') : 'none'}>
        <button type="button" className="sort" onClick={next}>
          {text} {active ? (sort!.dir === 'asc' ? '▲' : '▼') : ''}
        </button>
      </th>
    );
  };
  return (
    <div className="paper-table">
      <div className="table-head">
        <h3>{table.title}</h3>
        <ExportButtons name={name} make={(f) => exportIntervalTable(table, f)} />
      </div>
      <div className="table-wrap">
        <table className="data numeric" aria-label={table.title}>
          <thead>
            <tr>
              {header(-1, table.rowHeader)}
              {table.columns.map((c, i) => header(i, c))}
            </tr>
          </thead>
          <tbody>
            {table.rows.map((r) => (
              <tr key={r.label} className={r.label === table.reference ? 'reference' : undefined}>
                <th scope="row">
                  {r.label}
                  {(runsOf.get(r.label) ?? 1) > 1 && <span className="muted"> ({runsOf.get(r.label)} runs)</span>}
                </th>
                {r.cells.map((c, i) => (
                  <td key={i} className={c.best ? 'best' : undefined} title={`n=${c.n}${c.missing ? `, ${c.missing} undefined` : ''}${c.pValue !== null ? `, p=${c.pValue.toPrecision(3)} (${c.pairs} pairs)` : ''}`}>
                    {c.text}
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {table.notes.map((n) => (
        <p key={n} className="footnote">
          {n}
        </p>
      ))}
    </div>
  );
}
