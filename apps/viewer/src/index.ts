/**
 * @mrlseg/viewer: the results viewer (React + Vite). The app itself is built with `vite build`
 * into `dist/`, which the evaluation API serves at `/`. The pure helpers below are exported for
 * reuse and tests.
 */
export { App } from './App';
export { ApiClient, ApiError, type CasesPage, type AuthRequired } from './lib/api';
export { sessionTokenStore, TOKEN_KEY, type TokenStore } from './lib/token';
export { applyWindow, composeOverlay, representedImage, resizeNearest, type GreyImage, type OverlayOptions } from './lib/overlay';
export { buildAblationTable, buildIntervalTable, sortTable, type IntervalTable } from './lib/tables';
export { exportAblationTable, exportIntervalTable, type ExportFormat } from './lib/export';
export { parseViewState, serializeViewState, type ViewState } from './lib/url-state';
