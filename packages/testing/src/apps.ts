// The apps, composed in one process for the tests that need more than one
// of them: a realtime node's tests configure apps through a real control
// plane and persist records with the worker's jobs; the dashboard's
// end-to-end tests run against a control plane, a realtime node and the
// worker's jobs. Like apps/standalone (the composition root of `pnpm
// start`), this module imports the apps by their public entry points only;
// no app imports another (test/app-imports.test.ts). For tests only.

export { buildApp as buildControlPlane } from '@hubstream/control-plane';
export { buildApp as buildRealtime, injectTransport, UsageReporter } from '@hubstream/realtime';
export { type Standalone, startStandalone } from '@hubstream/standalone';
export {
  createJobDefinitions as workerJobDefinitions,
  MemoryUsageLedger,
  usageRollupJob,
} from '@hubstream/worker';
export { type E2EStack, type Mail, startE2EStack } from './e2e-stack.ts';
