/**
 * GET /api/v1/runs/:id/report: the paper-style tables of the run's experiment, built and
 * rendered by @mrlseg/experiments (buildReport + rendering); this module only picks the
 * content type for each format.
 */
import type { ResultsStore } from '@mrlseg/experiments';
import type { ReportFormat, RunRecord } from '@mrlseg/types';

export interface RenderedReport {
  contentType: string;
  /** Text for md/csv/latex, a JSON value for json. */
  body: unknown;
}

export type ReportRenderer = (store: ResultsStore, run: RunRecord, format: ReportFormat) => RenderedReport;

export const REPORT_CONTENT_TYPES: Record<ReportFormat, string> = {
  md: 'text/markdown; charset=utf-8',
  csv: 'text/csv; charset=utf-8',
  latex: 'application/x-latex; charset=utf-8',
  json: 'application/json',
};

export const experimentsReport: ReportRenderer = () => {
  throw new Error('pending experiments report API');
};
