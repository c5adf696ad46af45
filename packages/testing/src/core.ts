// The package's helpers that do not need Vitest (`@hubstream/testing/core`):
// the benches use them too, and a bench must not load Vitest. Tests import
// `@hubstream/testing`, which re-exports all of this and also kills the
// processes a test file left running after the file (vitest-guard.ts).

export { type ClientOptions, Clients } from './clients.ts';
export {
  type NodeProcess,
  type RedisServer,
  startNodeProcess,
  startRedisServer,
  startTraffic,
  type Traffic,
} from './cluster-faults.ts';
export {
  DEVELOPER_PASSWORD,
  type Developer,
  type SignUpOptions,
  signUp,
} from './developer.ts';
export { freePort } from './free-port.ts';
export { type ApiOptions, type ApiReply, api, apiOf } from './http.ts';
export { type Mailbox, parseMail, type ReceivedMail, startMailbox } from './mailbox.ts';
export {
  type Exited,
  httpOf,
  type RunningHubstream,
  runUntilExit,
  spawnHubstream,
  startHubstream,
} from './process.ts';
export { guardProcess, killLeftovers } from './process-guard.ts';
export {
  type Command,
  type LogEntry,
  ROLE_ENTRY,
  type Role,
  type RunningRole,
  roleCommand,
  runRoleUntilExit,
  startRole,
} from './roles-process.ts';
export { ALLOW_ALL } from './rules.ts';
export { type Balancer, startBalancer } from './tcp-balancer.ts';
export {
  allowAllApp,
  type Reply,
  request,
  servedFingerprint,
  trustingClient,
  writeTestCertificates,
} from './tls-helpers.ts';
export { busyFor, countTurns } from './turns.ts';
export { holdsWithin, type UntilOptions, UntilTimeout, until } from './until.ts';
export { connectWire, handshakeWire, openWire, type Wire } from './wire.ts';
