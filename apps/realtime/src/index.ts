export { buildApp, type RealtimeOptions } from './app.ts';
export {
  type UsageReport,
  UsageReporter,
  type UsageReporterOptions,
  type UsageSource,
} from './usage-reporter.ts';
