/**
 * Export of the live tables as CSV, Markdown and LaTeX. The interval tables are rendered by
 * @mrlseg/metrics' renderTable (the same text the API's reports use); the ablation table (Table V,
 * component check marks + Avg cells) is laid out here from the metrics cells.
 */
import { renderTable, type ResultTable } from '@mrlseg/metrics';
import type { AblationRow } from './tables';

export type ExportFormat = 'csv' | 'md' | 'latex';

const csvField = (s: string) => (/[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
const latexEscape = (s: string) => s.replace(/[\\&%$#_{}~^]/g, (c) => ({ '\\': '\\textbackslash{}', '~': '\\textasciitilde{}', '^': '\\textasciicircum{}' })[c] ?? `\\${c}`);

export function exportIntervalTable(t: ResultTable, format: ExportFormat): string {
  return renderTable(t, format);
}

export function exportAblationTable(rows: AblationRow[], format: ExportFormat): string {
  const mark = (b: boolean) => (b ? (format === 'latex' ? '\\checkmark' : '✓') : '');
  const cols = ['w/o pre-training', 'Seg', 'RL', 'ADP', 'FB', 'Mean Dice (%)', 'Mean HD (px)'];
  const text = (c: AblationRow['dice']) => {
    if (format === 'csv') return c.text;
    if (format === 'latex') {
      const t = c.text.replace('±', '$\\pm$');
      return c.best ? `\\textbf{${t}}` : t;
    }
    return c.best ? `**${c.text}**` : c.text;
  };
  const cells = rows.map((r) => [
    r.label,
    mark(r.flags.withoutPretraining),
    mark(r.flags.seg),
    mark(r.flags.rl),
    mark(r.flags.adp),
    mark(r.flags.fb),
    text(r.dice),
    text(r.hd),
  ]);
  if (format === 'csv') return [['Variant', ...cols], ...cells].map((l) => l.map(csvField).join(',')).join('\n') + '\n';
  if (format === 'md') {
    return [`| Variant | ${cols.join(' | ')} |`, `|${['---', ...cols.map(() => ':---:')].join('|')}|`, ...cells.map((c) => `| ${c.join(' | ')} |`)].join('\n') + '\n';
  }
  return [
    '\\begin{tabular}{lccccccc}',
    '\\hline',
    `Variant & ${cols.map(latexEscape).join(' & ')} \\\\`,
    '\\hline',
    ...cells.map((c) => `${latexEscape(c[0])} & ${c.slice(1).join(' & ')} \\\\`),
    '\\hline',
    '\\end{tabular}',
  ].join('\n') + '\n';
}

/** Offers `text` as a file download. */
export function download(text: string, filename: string, mime: string): void {
  const url = URL.createObjectURL(new Blob([text], { type: mime }));
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
