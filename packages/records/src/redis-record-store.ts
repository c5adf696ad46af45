import { randomUUID } from 'node:crypto';
import { type JobQueue, newRedis } from '@hubstream/cluster';
import type { PrismaClient, SqlSession } from '@hubstream/db';
import type { Redis } from 'ioredis';
import { keyOf, PersistenceBatches } from './persistence-batches.ts';
import {
  appOfChannel,
  CHANGE_CHANNEL_SUFFIX,
  parseChange,
  versionAfter,
} from './record-changes.ts';
import type {
  PersistenceLag,
  RecordChange,
  RecordStore,
  RecordsLogger,
  SetOptions,
  SetResult,
  StoredRecord,
} from './record-store.ts';
import { type Flight, RecordCache } from './redis-record-cache.ts';
import { REPLACEMENTS, RedisRecordOperations, type Write } from './redis-record-operations.ts';
import { withRecordCommands } from './redis-record-scripts.ts';

// Records of every app, shared by every node (ARCHITECTURE.md "State").
//
// - Redis holds the hot copy (layout: record-keys.ts),
//   and only the compare-and-set script (redis-record-scripts.ts) changes a
//   record's version, so two nodes can never both accept version N.
// - Every change is announced on the app's change channel by the script
//   that makes it, atomically and in the order Redis accepted it
//   (record-changes.ts). Other nodes hear it: their caches drop what it made
//   stale, and watch() hands it to their record handlers for subscribers.
// - A miss in Redis loads the durable copy from Postgres and seeds Redis
//   with it only if Redis still knows nothing of the record.
// - A durable write runs in a Postgres transaction: upsert, then the
//   compare-and-set, then commit. A conflict rolls the upsert back; a
//   failure before the compare-and-set changes nothing. Its statements go
//   to the driver itself (redis-record-operations.ts).
// - Other writes go to Postgres in batches (persistence-batches.ts).
// - delete and reload hold the records' advisory lock exclusively (the job
//   and durable writes hold it shared), so a batch can never put a deleted
//   record back into Postgres. A deleted record stays in Redis as "known
//   absent" for a while, so a load that read Postgres before the delete
//   cannot seed it again either.
// - peek serves a cache of records this node read or wrote
//   (redis-record-cache.ts); set() never trusts it.

export type RedisRecordStoreOptions = {
  /**
   * A connection the caller closes, or a URL: then the store opens and
   * closes its own. Not one with ioredis' own keyPrefix: change channels
   * travel as script arguments, which that option does not prefix.
   */
  redis: Redis | string;
  /** Durable writes, deletes, reloads and loads (the driver: Database.sql). */
  sql: SqlSession;
  /** The persistence batches run at close. */
  prisma: PrismaClient;
  /** Where persistence batches go; it must know the `persist-records` job (@hubstream/jobs). */
  jobs: JobQueue;
  logger: RecordsLogger;
  /** Prepended to every key and channel (REDIS_KEY_PREFIX; tests use their own). */
  keyPrefix?: string;
  /** How long written records gather before one persistence job is enqueued. */
  flushDelayMs?: number;
  /** Records cached for peek without subscribers, least recently used first out. */
  maxCachedRecords?: number;
  /** How long Redis remembers that a record does not exist. */
  absentTtlMs?: number;
  /** Names the change subscription `hs-records:{nodeId}` in Redis' CLIENT LIST. */
  nodeId?: string;
  /**
   * Durable writes, deletes and reloads commit without waiting for the WAL
   * flush (RECORD_WRITE_DURABILITY=commit; local-record-store.ts says why).
   */
  asyncCommit?: boolean;
};

/** A compare-and-set that finds no record loads it; a record evicted again at once is not worth chasing. */
const MISS_RETRIES = 3;
/** How long the first operations wait for the change subscription before going on uncached. */
const STARTUP_WAIT_MS = 1_000;

export class RedisRecordStore implements RecordStore {
  readonly #redis: Redis;
  readonly #subscriber: Redis;
  readonly #ownsRedis: boolean;
  readonly #log: RecordsLogger;
  readonly #prefix: string;
  readonly #origin = randomUUID();
  readonly #cache: RecordCache;
  readonly #batches: PersistenceBatches;
  readonly #ops: RedisRecordOperations;
  readonly #watchers = new Set<(change: RecordChange) => void>();
  readonly #loading = new Map<string, Promise<StoredRecord | null>>();
  readonly #operations = new Set<Promise<unknown>>();
  #listenedOnce = false;
  /** Heard nothing for a while (a lost subscription): watchers must re-read. */
  #missed = false;
  #heardCluster = () => {};
  /** Settles once the store first hears the cluster, or gives up waiting. */
  readonly #started: Promise<void>;
  #closed = false;
  #closing: Promise<void> | null = null;

  constructor(options: RedisRecordStoreOptions) {
    this.#ownsRedis = typeof options.redis === 'string';
    const redis = typeof options.redis === 'string' ? newRedis(options.redis) : options.redis;
    this.#redis = redis;
    this.#log = options.logger;
    this.#prefix = options.keyPrefix ?? '';
    this.#cache = new RecordCache(options.maxCachedRecords ?? 10_000);
    this.#batches = new PersistenceBatches({
      redis,
      prisma: options.prisma,
      jobs: options.jobs,
      logger: options.logger,
      keyPrefix: this.#prefix,
      flushDelayMs: options.flushDelayMs ?? 50,
    });
    this.#ops = new RedisRecordOperations({
      redis: withRecordCommands(redis),
      sql: options.sql,
      logger: options.logger,
      keyPrefix: this.#prefix,
      absentTtlMs: options.absentTtlMs ?? 10 * 60_000,
      origin: this.#origin,
      batches: this.#batches,
      asyncCommit: options.asyncCommit ?? false,
      forget: (appId, name) => this.#cache.forget(keyOf(appId, name)),
    });

    // Subscribed again by hand after a reconnect, so the cache is used only
    // once the subscription is back.
    this.#subscriber = redis.duplicate({
      autoResubscribe: false,
      ...(options.nodeId === undefined ? {} : { connectionName: `hs-records:${options.nodeId}` }),
    });
    this.#subscriber.on('pmessage', (_pattern: string, channel: string, message: string) =>
      this.#heard(channel, message),
    );
    this.#subscriber.on('ready', () => void this.#listen());
    this.#subscriber.on('close', () => this.#deafen());
    this.#subscriber.on('error', (error: unknown) =>
      this.#log.warn({ err: error }, 'record change subscription failed'),
    );
    this.#started = new Promise((resolve) => {
      this.#heardCluster = resolve;
      setTimeout(resolve, STARTUP_WAIT_MS).unref();
    });
  }

  /** Records cached for peek (for tests and metrics). */
  get size(): number {
    return this.#cache.size;
  }

  get(appId: string, name: string): Promise<StoredRecord | null> {
    const hot = this.peek(appId, name);
    if (hot !== undefined) return Promise.resolve(hot);
    const key = keyOf(appId, name);
    let loading = this.#loading.get(key);
    if (!loading) {
      loading = this.#operation(key, async (flight) => {
        const record = await this.#ops.load(appId, name);
        this.#cache.remember(key, record, flight);
        return record;
      }).finally(() => this.#loading.delete(key));
      this.#loading.set(key, loading);
    }
    return loading;
  }

  peek(appId: string, name: string): StoredRecord | null | undefined {
    return this.#cache.peek(keyOf(appId, name));
  }

  set(
    appId: string,
    name: string,
    expectedVersion: number,
    next: StoredRecord,
    options: SetOptions = {},
  ): Promise<SetResult> {
    if (!(next.version > expectedVersion)) {
      return Promise.reject(
        new RangeError(`Version ${next.version} does not follow version ${expectedVersion}.`),
      );
    }
    const key = keyOf(appId, name);
    const write: Write = { appId, name, expected: expectedVersion, next, options };
    return this.#operation(key, async (flight): Promise<SetResult> => {
      // Once closing, nothing flushes later: a straggling write goes straight through.
      const durable = options.durable === true || this.#closed;
      for (let attempt = 1; ; attempt++) {
        const outcome = durable
          ? await this.#ops.setDurably(write)
          : await this.#ops.compareAndSet(write);
        switch (outcome.kind) {
          case 'stored':
            if (!durable) this.#batches.add(appId, name);
            this.#cache.remember(key, next, flight);
            return { ok: true };
          case 'conflict':
            this.#cache.remember(key, outcome.current, flight);
            return { ok: false, current: outcome.current };
          case 'missing':
            if (attempt >= MISS_RETRIES)
              throw new Error(`Record ${name} keeps vanishing from Redis.`);
            await this.#ops.load(appId, name);
            break;
          default: {
            const unknown: never = outcome;
            throw new Error(`Unknown outcome ${JSON.stringify(unknown)}`);
          }
        }
      }
    });
  }

  delete(appId: string, name: string): Promise<void> {
    const key = keyOf(appId, name);
    return this.#operation(key, async (flight) => {
      this.#batches.drop(appId, name);
      await this.#ops.replaceFromPostgres(appId, name, REPLACEMENTS.delete);
      this.#cache.remember(key, null, flight);
    });
  }

  reload(appId: string, name: string): Promise<StoredRecord | null> {
    const key = keyOf(appId, name);
    return this.#operation(key, async (flight) => {
      // Postgres wins: writes not persisted yet are dropped, as in the local store.
      this.#batches.drop(appId, name);
      const record = await this.#ops.replaceFromPostgres(appId, name, REPLACEMENTS.reload);
      this.#cache.remember(key, record, flight);
      return record;
    });
  }

  hold(appId: string, name: string): void {
    this.#cache.hold(keyOf(appId, name));
  }

  release(appId: string, name: string): void {
    this.#cache.release(keyOf(appId, name));
  }

  watch(listener: (change: RecordChange) => void): () => void {
    this.#watchers.add(listener);
    return () => this.#watchers.delete(listener);
  }

  /** How far Postgres is behind the writes this node made (one Redis round trip). */
  persistenceLag(): Promise<PersistenceLag> {
    return this.#batches.lag();
  }

  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#closed = true;
    while (this.#operations.size > 0) await Promise.allSettled([...this.#operations]);
    await this.#ops.settled();
    await this.#batches.close();
    this.#watchers.clear();
    this.#deafen();
    this.#subscriber.disconnect();
    if (this.#ownsRedis) await this.#redis.quit();
  }

  // Hearing the cluster -------------------------------------------------------

  /**
   * Runs `task` on the record, tracked so changes heard meanwhile keep its
   * result out of the cache. Until the store first hears the cluster (at
   * most STARTUP_WAIT_MS), operations wait, so their results can be cached.
   */
  #operation<T>(key: string, task: (flight: Flight) => Promise<T>): Promise<T> {
    const run = async () => {
      if (!this.#listenedOnce) await this.#started;
      const flight = this.#cache.begin(key);
      try {
        return await task(flight);
      } finally {
        this.#cache.end(key, flight);
      }
    };
    const done: Promise<T> = run().finally(() => this.#operations.delete(done));
    this.#operations.add(done);
    return done;
  }

  #heard(channel: string, message: string) {
    const heard = parseChange(appOfChannel(this.#prefix, channel), message);
    if (heard === null || heard.origin === this.#origin) return;
    const { change } = heard;
    const replaced = change.kind === 'deleted' || change.kind === 'reloaded';
    this.#cache.heard(keyOf(change.appId, change.name), versionAfter(change), replaced);
    this.#tell(change);
  }

  #tell(change: RecordChange) {
    for (const watcher of this.#watchers) {
      try {
        watcher(change);
      } catch (error) {
        this.#log.error({ err: error }, 'a record change watcher failed');
      }
    }
  }

  async #listen() {
    try {
      await this.#subscriber.psubscribe(`${this.#prefix}hs:*${CHANGE_CHANNEL_SUFFIX}`);
    } catch (error) {
      this.#log.warn({ err: error }, 'subscribing to record changes failed');
      return;
    }
    if (this.#closed) return;
    this.#cache.listening();
    this.#listenedOnce = true;
    this.#heardCluster();
    if (this.#missed) {
      this.#missed = false;
      this.#tell({ kind: 'missed' });
    }
  }

  #deafen() {
    if (this.#listenedOnce && !this.#closed) this.#missed = true;
    this.#cache.deafen();
  }
}
