export { prepareEmailLogin } from '@hubstream/auth';
export { buildApp, type RealtimeOptions } from './app.ts';
export { type DataApiRequest, injectTransport } from './http-api/in-process.ts';
export { warmListenPatterns } from './listen/listen-pattern.ts';
export {
  type UsageReport,
  UsageReporter,
  type UsageReporterOptions,
  type UsageSource,
} from './usage-reporter.ts';
