// Test helpers shared by the tests of every app and package (issue 16):
// processes started from the shipped entry points, free ports, an SMTP
// mailbox, TLS clients, one polling `until`, `api()` for HTTP, the official
// client (`Clients`), a TCP balancer, a raw protocol wire, Redis and
// realtime processes for fault tests. Nothing here imports an app; the
// in-process compositions of the apps are in `@hubstream/testing/apps`.
// For tests only: no src/ imports this package.

export { type ClientOptions, Clients } from './clients.ts';
export {
  type NodeProcess,
  type RedisServer,
  startNodeProcess,
  startRedisServer,
  startTraffic,
  type Traffic,
} from './cluster-faults.ts';
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
export { guardProcess } from './process-guard.ts';
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
export { type UntilOptions, until } from './until.ts';
export { connectWire, openWire, type Wire } from './wire.ts';
