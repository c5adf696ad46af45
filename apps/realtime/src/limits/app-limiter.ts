import type { ConnectionCounter, RateLimiter } from '@hubstream/cluster';
import { type Message, TOPIC } from '@hubstream/protocol';
import type { ValveLoaders } from '@hubstream/valve';
import type { LimitName } from '../core/node-counters.ts';
import type { AppLimits } from './app-limits.ts';
import { SharedBudget } from './shared-budget.ts';
import { TokenBucket } from './token-bucket.ts';

// One app's limits on this node. Connections are counted across the cluster
// (a round trip per connection, none per message); messages pass the
// connection's own bucket and then the app's shared budget; rules' record
// loads pass the app's cross-reference budget.

/** What the limiter needs of a connection. */
export type LimitedConnection = { readonly state: string };

export type AppLimiterOptions = {
  appId: string;
  limits: AppLimits;
  rateLimiter: RateLimiter;
  connections: ConnectionCounter;
  /** Told which limit refused, each time one does (the app's `limited` hook: usage, metrics). */
  onLimited: (limit: LimitName) => void;
  onError: (error: unknown, what: string) => void;
  now?: () => number;
};

/** Messages that are never limited: heartbeats (refusing a PING would drop a healthy client) and AUTH. */
const UNLIMITED_TOPICS: ReadonlySet<number> = new Set([TOPIC.CONNECTION, TOPIC.AUTH]);

/** Thrown by a loader the cross-reference budget refused; the check turns it into a denial. */
export class CrossReferenceLimitError extends Error {
  override readonly name = 'CrossReferenceLimitError';
}

export class AppLimiter {
  readonly appId: string;
  #limits: AppLimits;
  readonly #options: AppLimiterOptions;
  readonly #messages: SharedBudget;
  readonly #crossReferences: SharedBudget;
  readonly #buckets = new WeakMap<LimitedConnection, TokenBucket>();
  /** Connections this node counted for the app (and must give back). */
  readonly #counted = new Set<LimitedConnection>();

  constructor(options: AppLimiterOptions) {
    this.appId = options.appId;
    this.#options = options;
    this.#limits = options.limits;
    const shared = {
      limiter: options.rateLimiter,
      appId: options.appId,
      ...(options.now ? { now: options.now } : {}),
    };
    this.#messages = new SharedBudget({
      ...shared,
      key: 'messages',
      max: () => this.#limits.maxMessagesPerSecond,
      onError: (error) => options.onError(error, 'message budget'),
    });
    this.#crossReferences = new SharedBudget({
      ...shared,
      key: 'cross-references',
      max: () => this.#limits.maxCrossReferencesPerSecond,
      onError: (error) => options.onError(error, 'cross-reference budget'),
    });
  }

  get limits(): AppLimits {
    return this.#limits;
  }

  /** New limits apply at once; connections already open stay even above a lowered maximum. */
  replace(limits: AppLimits): void {
    this.#limits = limits;
    this.#messages.reset();
    this.#crossReferences.reset();
  }

  /**
   * Whether the app has room for one more connection right now (asked at the
   * CHALLENGE, so a full app is refused before any login work; the place is
   * taken by `admit` once the login succeeds).
   */
  async hasRoom(): Promise<boolean> {
    let count: number;
    try {
      count = await this.#options.connections.count(this.appId);
    } catch (error) {
      this.#options.onError(error, 'connection count');
      return true;
    }
    if (count < this.#limits.maxConnections) return true;
    this.#options.onLimited('connections');
    return false;
  }

  /**
   * Admits a new connection if the app has room for it across the cluster.
   * A connection that closed while this was being decided is not counted.
   */
  async admit(connection: LimitedConnection): Promise<boolean> {
    let ok: boolean;
    try {
      ok = await this.#options.connections.acquire(this.appId, this.#limits.maxConnections);
    } catch (error) {
      // The count is unreachable (Redis away): let the client in uncounted rather than lock everyone out.
      this.#options.onError(error, 'connection count');
      return connection.state !== 'closed';
    }
    if (!ok) {
      this.#options.onLimited('connections');
      return false;
    }
    if (connection.state === 'closed') {
      await this.#options.connections.release(this.appId);
      return false;
    }
    this.#counted.add(connection);
    return true;
  }

  /** The connection is gone: its place is free again. Idempotent. */
  release(connection: LimitedConnection): void {
    if (!this.#counted.delete(connection)) return;
    this.#options.connections.release(this.appId).catch((error: unknown) => {
      this.#options.onError(error, 'connection count');
    });
  }

  /**
   * Whether a message of a logged-in connection may have an effect: its
   * connection's rate, then the app's. Synchronous except when the node's
   * share of the app's rate must be refilled from the cluster.
   */
  allows(connection: LimitedConnection, message: Message): boolean | Promise<boolean> {
    if (UNLIMITED_TOPICS.has(message.topic)) return true;
    let bucket = this.#buckets.get(connection);
    if (!bucket) {
      bucket = new TokenBucket(this.#limits.connectionMessagesPerSecond, this.#options.now);
      this.#buckets.set(connection, bucket);
    }
    if (!bucket.take(this.#limits.connectionMessagesPerSecond)) return this.#refused();
    const shared = this.#messages.take();
    if (shared === true) return true;
    if (shared === false) return this.#refused();
    return shared.then((ok) => ok || this.#refused());
  }

  #refused(): false {
    this.#options.onLimited('messages');
    return false;
  }

  /**
   * The loaders one permission check uses: every record a rule loads other
   * than the one asked about takes a cross-reference token; when none is
   * left the load fails with CrossReferenceLimitError and `state.limited`
   * is set, so the caller denies.
   */
  guardLoaders(
    loaders: ValveLoaders,
    ownName: string | undefined,
    state: { limited: boolean },
  ): ValveLoaders {
    return {
      loadRecord: (name: string) => {
        if (name === ownName) return loaders.loadRecord(name);
        const granted = this.#crossReferences.take();
        if (granted === true) return loaders.loadRecord(name);
        if (granted === false) throw this.#crossReferenceRefused(state);
        return granted.then((ok) => {
          if (!ok) throw this.#crossReferenceRefused(state);
          return loaders.loadRecord(name);
        });
      },
    };
  }

  #crossReferenceRefused(state: { limited: boolean }): CrossReferenceLimitError {
    if (!state.limited) {
      this.#options.onLimited('cross_references');
    }
    state.limited = true;
    return new CrossReferenceLimitError(
      `the app's limit of ${this.#limits.maxCrossReferencesPerSecond} cross-references per second is reached`,
    );
  }
}
