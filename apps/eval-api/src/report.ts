/**
 * GET /api/v1/runs/:id/report: the paper-style tables of the run's experiment, built and
 * rendered by @mrlseg/experiments (buildReport + rendering); this module only picks the
 * content type for each format.
 */
import { buildReport, renderReport, type ResultsStore } from '@mrlseg/experiments';
import { HttpError } from './errors';
import type { ReportFormat, RunRecord } from '@mrlseg/types';

export interface RenderedReport {
  contentType: string;
  /** The rendered report (JSON text for json). */
  body: string;
}

export type ReportRenderer = (store: ResultsStore, run: RunRecord, format: ReportFormat) => Promise<RenderedReport>;

export const REPORT_CONTENT_TYPES: Record<ReportFormat, string> = {
  md: 'text/markdown; charset=utf-8',
  csv: 'text/csv; charset=utf-8',
  latex: 'application/x-latex; charset=utf-8',
  json: 'application/json',
};

/**
 * The report of the experiment a run belongs to (every completed run of it, one row per
 * variant), rendered by @mrlseg/experiments. An experiment without a completed run -> 404.
 */
export const experimentsReport: ReportRenderer = async (store, run, format) => {
  let report;
  try {
    report = await buildReport(store, { experimentId: run.experimentId });
  } catch (e) {
    // buildReport's own refusals ("report: no completed run ...") are the client's 404.
    if (e instanceof Error && e.message.startsWith('report:')) throw new HttpError(404, 'no_report', `no report for run '${run.id}': ${e.message}`);
    throw e;
  }
  return { contentType: REPORT_CONTENT_TYPES[format], body: renderReport(report, format) };
};
