export { BODY_LIMIT_BYTES, buildApp, type ControlPlaneOptions } from './app.ts';
export type { ControlPlaneContext } from './context.ts';
export { API_ERROR_STATUS, ApiError, type ApiErrorCode } from './errors.ts';
// The data browser's prefix range, for bench/records-browser.
export { prefixEnd } from './routes/records/prefix.ts';
export type { RealtimeDataTransport } from './routes/records/realtime-data.ts';
