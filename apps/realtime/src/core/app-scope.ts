import type {
  ClusterBus,
  ConnectionCounter,
  ListenerRegistry,
  PresenceRegistry,
  RateLimiter,
  RpcProviderRegistry,
} from '@hubstream/cluster';
import type { PrismaClient, SqlSession } from '@hubstream/db';
import type { RecordStore } from '@hubstream/records';
import type { AppLimits } from '../limits/app-limits.ts';
import type { Connection } from './connection.ts';
import type { ConnectionHost } from './connection-host.ts';
import type { NodeCounters } from './node-counters.ts';
import type { NodeSettings } from './settings.ts';
import type { Logger } from './types.ts';

/** What every app on this node shares. */
export type NodeServices = {
  prisma: PrismaClient;
  /** The database's driver beside Prisma (its few statements on a client's round trip). */
  sql: SqlSession;
  settings: NodeSettings;
  log: Logger;
  records: RecordStore;
  /** Messages to and from the other nodes of the cluster. */
  bus: ClusterBus;
  /** Who is online in each app, cluster-wide. */
  presence: PresenceRegistry;
  /** Which nodes provide which RPC in each app. */
  rpcProviders: RpcProviderRegistry;
  /** Who listens to which pattern, who provides and who subscribes, per app, cluster-wide. */
  listeners: ListenerRegistry;
  /** Per-app message and cross-reference rates, cluster-wide. */
  rateLimiter: RateLimiter;
  /** Per-app open connections, cluster-wide. */
  connectionCounts: ConnectionCounter;
  /** The limits of an app that set none of its own (from the config). */
  limitDefaults: AppLimits;
  /** What the node counts for its metrics, across apps. */
  counters: NodeCounters;
};

/**
 * What a topic handler sees of its app (the narrow interface of issue 16):
 * its id, its rules through `check()`, its log and limits, the hooks it
 * announces denials and refusals on, and the node's services. Not the
 * runtime: handlers are built by runtime/handlers.ts and never import it.
 */
export interface AppScope
  extends Pick<ConnectionHost<Connection>, 'appId' | 'log' | 'limits' | 'hooks' | 'check'> {
  readonly node: NodeServices;
}
