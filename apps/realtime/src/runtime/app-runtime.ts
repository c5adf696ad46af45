import { authenticate } from '@hubstream/auth';
import type {
  ClusterBus,
  ConnectionCounter,
  ListenerRegistry,
  PresenceRegistry,
  RateLimiter,
  RpcProviderRegistry,
} from '@hubstream/cluster';
import type { AppAuthSettings, PrismaClient } from '@hubstream/db';
import type { Permissions, ValveLoaders } from '@hubstream/valve';
import type { ConnectionInfo } from '../core/client-socket.ts';
import type { Connection } from '../core/connection.ts';
import type { AuthFailureReason, NodeCounters } from '../core/node-counters.ts';
import type { NodeSettings } from '../core/settings.ts';
import type { Logger, TopicHandler, User } from '../core/types.ts';
import { EventHandler } from '../events/event-handler.ts';
import { AppLimiter } from '../limits/app-limiter.ts';
import { type AppLimits, type OwnLimits, resolveLimits } from '../limits/app-limits.ts';
import type { PermissionQuestion } from '../permissions/authorize.ts';
import { sectionOf } from '../permissions/authorize.ts';
import { PresenceHandler } from '../presence/presence-handler.ts';
import { RecordHandler } from '../records/record-handler.ts';
import type { RecordStore } from '../records/record-store.ts';
import { RpcHandler } from '../rpc/rpc-handler.ts';

export type AuthResult =
  | { ok: true; user: User; clientData: Record<string, unknown> }
  | { ok: false; clientData?: unknown; reason: AuthFailureReason };

/** What every app on this node shares. */
export type NodeServices = {
  prisma: PrismaClient;
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

export type Usage = {
  messagesIn: number;
  /** Messages sent to clients (each copy of a fan-out counts). */
  messagesOut: number;
  denied: number;
  /** Refused by a limit: connections, messages, rules' record loads. */
  rateLimited: number;
  rejected: number;
  authFailures: number;
};

type CheckVerdict = 'allowed' | 'denied' | 'error';

/**
 * One app on this node: its auth settings and compiled rules (replaced when
 * the control plane announces a change), its connections, and its topic
 * handlers. Nothing here is shared with another app.
 */
export class AppRuntime {
  readonly appId: string;
  readonly node: NodeServices;
  readonly log: Logger;
  /** Connections that have logged in. */
  readonly connections = new Set<Connection>();
  /** Every connection, also those still in quarantine. */
  readonly #all = new Set<Connection>();
  readonly usage: Usage = {
    messagesIn: 0,
    messagesOut: 0,
    denied: 0,
    rateLimited: 0,
    rejected: 0,
    authFailures: 0,
  };
  /** The app's limits on this node. */
  readonly limiter: AppLimiter;
  auth: AppAuthSettings;
  permissions: Permissions | null;
  readonly events: EventHandler;
  readonly records: RecordHandler;
  readonly rpc: RpcHandler;
  readonly presence: PresenceHandler;
  readonly #handlers: TopicHandler[];

  constructor(options: {
    appId: string;
    auth: AppAuthSettings;
    permissions: Permissions | null;
    node: NodeServices;
    /** The app's own limits (null where it uses the default). */
    limits?: OwnLimits | null;
  }) {
    this.appId = options.appId;
    this.limiter = new AppLimiter({
      appId: options.appId,
      limits: resolveLimits(options.limits, options.node.limitDefaults),
      rateLimiter: options.node.rateLimiter,
      connections: options.node.connectionCounts,
      usage: this.usage,
      onLimited: (limit) => options.node.counters.rateLimited.add(limit),
      onError: (error, what) =>
        options.node.log.warn(
          { err: error, app: options.appId },
          `${what}: the cluster is unreachable`,
        ),
    });
    this.auth = options.auth;
    this.permissions = options.permissions;
    this.node = options.node;
    this.log = options.node.log;
    this.events = new EventHandler(this);
    this.records = new RecordHandler(this);
    this.rpc = new RpcHandler(this);
    this.presence = new PresenceHandler(this);
    this.#handlers = [this.events, this.records, this.rpc, this.presence];
  }

  get connectionCount(): number {
    return this.#all.size;
  }

  get maxMessageBytes(): number {
    return this.node.settings.maxMessageBytes;
  }

  /** `log`: the connection's, so the strategies' lines carry its id. */
  authenticate(
    authData: Record<string, unknown>,
    info: ConnectionInfo,
    log: Logger = this.log,
  ): Promise<AuthResult> {
    return authenticate(authData, {
      appId: this.appId,
      settings: this.auth,
      prisma: this.node.prisma,
      info,
      log,
      allowPrivateAddresses: this.node.settings.webhookAllowPrivateAddresses,
      webhookLoginTimeoutMs: this.node.settings.webhookLoginTimeoutMs,
      throttle: { limiter: this.node.rateLimiter, settings: this.node.settings.loginThrottle },
    });
  }

  /** A new connection, before its handshake. */
  register(connection: Connection): void {
    this.#all.add(connection);
  }

  /** A connection finished its login. */
  attach(connection: Connection): void {
    this.connections.add(connection);
    this.presence.userJoined(connection);
  }

  /** A connection is gone; `wasOpen` when it had logged in. */
  detach(connection: Connection, wasOpen: boolean): void {
    this.#all.delete(connection);
    this.limiter.release(connection);
    if (!wasOpen) return;
    this.connections.delete(connection);
    for (const handler of this.#handlers) handler.connectionClosed(connection);
  }

  /** Valve's verdict for one question, with this app's rules and record loader. */
  check(
    connection: Connection,
    topic: number,
    question: PermissionQuestion,
    loaders?: ValveLoaders,
  ): CheckVerdict | Promise<CheckVerdict> {
    const permissions = this.permissions;
    if (!permissions || !connection.user) return 'denied';
    const request = {
      section: sectionOf(topic),
      action: question.action ?? 0,
      name: question.name,
      user: connection.user,
      data: question.data,
      ...(question.oldData === undefined ? {} : { oldData: question.oldData }),
      path: question.path,
    };
    // Most rules (every emit's, typically) load no record: they need no
    // guarded loader, a closure and a state object per message.
    if (
      question.name !== undefined &&
      !permissions.mayLoad(
        request.section,
        request.action,
        question.name,
        question.path !== undefined,
      )
    ) {
      const result = permissions.evaluate(request);
      if (!(result instanceof Promise)) return result.verdict;
      return result.then((r) => r.verdict);
    }
    // Records the rules load count against the app's cross-reference rate; over it, the check denies.
    const limit = { limited: false };
    const guarded = this.limiter.guardLoaders(
      loaders ?? this.records.ruleLoaders,
      question.name,
      limit,
    );
    const result = permissions.evaluate(request, guarded);
    if (result instanceof Promise)
      return result.then((r) => (limit.limited ? 'denied' : r.verdict));
    return limit.limited ? 'denied' : result.verdict;
  }

  /** New limits apply at once; connections already open stay, also above a lowered maximum. */
  replaceLimits(own: OwnLimits | null): void {
    this.limiter.replace(resolveLimits(own, this.node.limitDefaults));
  }

  /** New auth settings apply to the next logins; sessions already open stay. */
  replaceAuth(auth: AppAuthSettings): void {
    this.auth = auth;
  }

  /** New rules: re-check what connections hold and drop what is no longer allowed. */
  async replacePermissions(permissions: Permissions | null): Promise<void> {
    this.permissions = permissions;
    for (const handler of this.#handlers) await handler.permissionsChanged?.();
  }

  /** Closes every connection (app deleted, node stopping). */
  shutdown(code: number, reason: string): void {
    for (const connection of [...this.#all]) connection.close(code, reason);
    for (const handler of this.#handlers) handler.close?.();
  }
}
