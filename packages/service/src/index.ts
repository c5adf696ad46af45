export { type ReadinessCheck, registerHealthRoutes } from './health.ts';
export { lazySchemaController } from './lazy-schema-compilers.ts';
export { listeningAddress, listeningUrl } from './listening.ts';
export {
  createLogger,
  type Logger,
  type LogLevel,
  redactSecrets,
  redactUrl,
} from './logger.ts';
export {
  Counter,
  Gauge,
  Histogram,
  type MetricsOptions,
  processMetrics,
  Registry,
  registerJobRuns,
  registerMetricsRoute,
  registerQueueDepth,
} from './metrics.ts';
export { PasswordChecksBusyError, startPasswordProcess } from './password-process.ts';
export { burnPasswordCheck, hashPassword, verifyPassword } from './passwords.ts';
export { stopOnSignals } from './shutdown.ts';
export { closeSilentConnections } from './silent-connections.ts';
export { ThreadCallError, ThreadCalls, type ThreadEndpoint } from './thread-calls.ts';
export {
  assertSecureListen,
  InsecureListenError,
  isLoopbackHost,
  type ListenTarget,
  MIN_TLS_VERSION,
  openRoleTransport,
  openServerTransport,
  plainServerFactory,
  plaintextAllowed,
  type RequestTimeouts,
  requestTimeouts,
  resolveSelfSigned,
  type ServerTransport,
  type TlsSettings,
} from './tls.ts';
