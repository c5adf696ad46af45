import { randomUUID } from 'node:crypto';
import type { JobQueue } from '@hubstream/cluster';
import type { Prisma, PrismaClient } from '@hubstream/db';
import {
  lockRecords,
  MAX_RECORDS_PER_BATCH,
  markPersisted,
  PERSIST_RECORDS_JOB,
  persistRecords,
  RECORD_TRANSACTION,
  type RecordRef,
  recordKeys,
  upsertRecords,
} from '@hubstream/worker';
import { Redis } from 'ioredis';
import type { Logger } from '../core/types.ts';
import type { RecordStore, SetOptions, SetResult, StoredRecord } from './record-store.ts';
import { jsonOf, knownJson } from './replies.ts';

// Records of every app, shared by every node (ARCHITECTURE.md "State").
//
// - Redis holds the hot copy (layout: apps/worker persist-records.job.ts),
//   and only the compare-and-set script below changes a record's version, so
//   two nodes can never both accept version N.
// - A miss in Redis loads the durable copy from Postgres and seeds Redis
//   with it only if Redis still knows nothing of the record.
// - A durable write runs in a Postgres transaction: upsert, then the
//   compare-and-set, then commit. A conflict rolls the upsert back; a
//   failure before the compare-and-set changes nothing.
// - Other writes are collected for `flushDelayMs` and handed to the job
//   queue, one `persist-records` job per batch; the job reads what Redis
//   holds when it runs and upserts it.
// - delete and reload hold the records' advisory lock exclusively (the job
//   and durable writes hold it shared), so a batch can never put a deleted
//   record back into Postgres. A deleted record stays in Redis as "known
//   absent" for a while, so a load that read Postgres before the delete
//   cannot seed it again either.
// - peek serves a small cache of records this node read or wrote. Every
//   change is announced on the app's channel (by the scripts, atomically
//   with the change); other nodes drop what they cached. While the
//   announcements cannot be heard, nothing is cached. set() never trusts
//   the cache: the compare-and-set decides.

export type RedisRecordStoreOptions = {
  /**
   * A connection the caller closes, or a URL: then the store opens and
   * closes its own. Not one with ioredis' own keyPrefix: change channels
   * travel as script arguments, which that option does not prefix.
   */
  redis: Redis | string;
  prisma: PrismaClient;
  /** Where persistence batches go; it must know the worker's `persist-records` job. */
  jobs: JobQueue;
  logger: Logger;
  /** Prepended to every key and channel (REDIS_KEY_PREFIX; tests use their own). */
  keyPrefix?: string;
  /** How long written records gather before one persistence job is enqueued. */
  flushDelayMs?: number;
  /** Records cached for peek without subscribers, least recently used first out. */
  maxCachedRecords?: number;
  /** How long Redis remembers that a record does not exist. */
  absentTtlMs?: number;
};

/** How far behind Postgres is, for metrics. */
export type PersistenceLag = {
  /** Records of the apps this node wrote to that are not known to be in Postgres yet. */
  unpersistedRecords: number;
  /** Age of the oldest such write; 0 when there is none. */
  oldestUnpersistedMs: number;
  /** Records this node has not handed to the job queue yet. */
  awaitingBatch: number;
};

// KEYS[1] record, KEYS[2] the app's dirty set. ARGV[1] expected version
// (-1: must not exist), ARGV[2] new version, ARGV[3] data JSON, ARGV[4] the
// record's name, ARGV[5] now (ms), ARGV[6] change channel, ARGV[7] change
// message. Returns {0}: Redis does not know the record (load it, retry);
// {1}: stored (and marked dirty, and announced); {2, version, data}: the
// version did not match, this is what is stored (version -1, data nil:
// known absent).
const COMPARE_AND_SET = `
local current = redis.call('HMGET', KEYS[1], 'v', 'd')
if not current[1] then return {0} end
local version = tonumber(current[1])
if version ~= tonumber(ARGV[1]) then return {2, version, current[2]} end
redis.call('HSET', KEYS[1], 'v', ARGV[2], 'd', ARGV[3])
if version == -1 then redis.call('PERSIST', KEYS[1]) end
redis.call('ZADD', KEYS[2], 'NX', ARGV[5], ARGV[4])
redis.call('PUBLISH', ARGV[6], ARGV[7])
return {1}
`;

// KEYS[1] record. ARGV[1] version from Postgres (-1: no row), ARGV[2] its
// data JSON, ARGV[3] how long an absence is remembered (ms). Stores it only
// if Redis has nothing for the record; returns {version, data} of what Redis
// holds afterwards.
const SEED = `
local current = redis.call('HMGET', KEYS[1], 'v', 'd')
if current[1] then return {tonumber(current[1]), current[2]} end
if ARGV[1] == '-1' then
  redis.call('HSET', KEYS[1], 'v', '-1', 'p', '-1')
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
  return {-1, false}
end
redis.call('HSET', KEYS[1], 'v', ARGV[1], 'd', ARGV[2], 'p', ARGV[1])
return {tonumber(ARGV[1]), ARGV[2]}
`;

// KEYS[1] record, KEYS[2] the app's dirty set. ARGV[1] version (-1:
// absent), ARGV[2] data JSON, ARGV[3] absence ttl (ms), ARGV[4] name,
// ARGV[5] change channel, ARGV[6] change message. Replaces whatever Redis
// holds with Postgres' word (delete, reload): clean, and announced.
const REPLACE = `
redis.call('DEL', KEYS[1])
if ARGV[1] == '-1' then
  redis.call('HSET', KEYS[1], 'v', '-1', 'p', '-1')
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
else
  redis.call('HSET', KEYS[1], 'v', ARGV[1], 'd', ARGV[2], 'p', ARGV[1])
end
redis.call('ZREM', KEYS[2], ARGV[4])
redis.call('PUBLISH', ARGV[5], ARGV[6])
return 1
`;

type Stored = [number, string | null];

type RecordCommands = Redis & {
  hsRecordCas(
    record: string,
    dirty: string,
    expected: number,
    version: number,
    json: string,
    name: string,
    now: number,
    channel: string,
    change: string,
  ): Promise<[0] | [1] | [2, number, string | null]>;
  hsRecordSeed(record: string, version: number, json: string, absentTtlMs: number): Promise<Stored>;
  hsRecordReplace(
    record: string,
    dirty: string,
    version: number,
    json: string,
    absentTtlMs: number,
    name: string,
    channel: string,
    change: string,
  ): Promise<number>;
};

/** Announced on `{prefix}hs:{appId}:rec-changes`: [origin store, name, version, replaced]. */
type Change = [string, string, number, 0 | 1];

type Outcome =
  | { kind: 'stored' }
  | { kind: 'missing' }
  | { kind: 'conflict'; current: StoredRecord | null };

/** An operation in flight on a record: changes heard meanwhile make its result unfit to cache. */
type Flight = { count: number; staleBelow: number };

/** Thrown inside a durable write's transaction to roll it back. */
class Rollback extends Error {
  constructor(readonly outcome: Outcome) {
    super('rolled back');
  }
}

const RETRY_MIN_MS = 500;
const RETRY_MAX_MS = 30_000;
/** A compare-and-set that finds no record loads it; a record evicted again at once is not worth chasing. */
const MISS_RETRIES = 3;
const CHANNEL_SUFFIX = ':rec-changes';
/** How long the first operations wait for the change subscription before going on uncached. */
const STARTUP_WAIT_MS = 1_000;

// App ids never contain '/', so the first '/' separates the app from the name.
const keyOf = (appId: string, name: string) => `${appId}/${name}`;

function decode(version: number, json: string | null): StoredRecord | null {
  if (version < 0) return null;
  if (json === null) throw new Error(`A stored record of version ${version} has no data.`);
  return knownJson({ version, data: JSON.parse(json) }, json);
}

export class RedisRecordStore implements RecordStore {
  readonly #redis: RecordCommands;
  readonly #subscriber: Redis;
  readonly #ownsRedis: boolean;
  readonly #prisma: PrismaClient;
  readonly #jobs: JobQueue;
  readonly #log: Logger;
  readonly #prefix: string;
  readonly #flushDelayMs: number;
  readonly #maxCached: number;
  readonly #absentTtlMs: number;
  readonly #origin = randomUUID();
  /** Cached records (null: known absent), by keyOf. */
  readonly #cache = new Map<string, StoredRecord | null>();
  /** Cached keys without subscribers, least recently used first. */
  readonly #idle = new Set<string>();
  readonly #holds = new Map<string, number>();
  readonly #flights = new Map<string, Flight>();
  readonly #loading = new Map<string, Promise<StoredRecord | null>>();
  readonly #operations = new Set<Promise<unknown>>();
  /** Written but not yet handed to the job queue, and since when. */
  readonly #pending = new Map<string, RecordRef>();
  #pendingSince = 0;
  /** Apps this node wrote to whose dirty sets the lag metric looks at. */
  readonly #writtenApps = new Set<string>();
  #timer: NodeJS.Timeout | null = null;
  #flushing: Promise<void> | null = null;
  #retryMs = 0;
  #listening = false;
  #listenedOnce = false;
  #heardCluster = () => {};
  /** Settles once the store first hears the cluster, or gives up waiting. */
  readonly #started: Promise<void>;
  #closed = false;
  #closing: Promise<void> | null = null;

  constructor(options: RedisRecordStoreOptions) {
    this.#ownsRedis = typeof options.redis === 'string';
    const redis = typeof options.redis === 'string' ? new Redis(options.redis) : options.redis;
    redis.defineCommand('hsRecordCas', { numberOfKeys: 2, lua: COMPARE_AND_SET });
    redis.defineCommand('hsRecordSeed', { numberOfKeys: 1, lua: SEED });
    redis.defineCommand('hsRecordReplace', { numberOfKeys: 2, lua: REPLACE });
    this.#redis = redis as RecordCommands;
    this.#prisma = options.prisma;
    this.#jobs = options.jobs;
    this.#log = options.logger;
    this.#prefix = options.keyPrefix ?? '';
    this.#flushDelayMs = options.flushDelayMs ?? 50;
    this.#maxCached = options.maxCachedRecords ?? 10_000;
    this.#absentTtlMs = options.absentTtlMs ?? 10 * 60_000;

    // Subscribed again by hand after a reconnect, so the cache is used only
    // once the subscription is back.
    this.#subscriber = redis.duplicate({ autoResubscribe: false });
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
        const record = await this.#load(appId, name);
        this.#remember(key, record, flight);
        return record;
      }).finally(() => this.#loading.delete(key));
      this.#loading.set(key, loading);
    }
    return loading;
  }

  peek(appId: string, name: string): StoredRecord | null | undefined {
    const key = keyOf(appId, name);
    const record = this.#cache.get(key);
    if (record !== undefined && this.#idle.delete(key)) this.#idle.add(key);
    return record;
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
    return this.#operation(key, async (flight): Promise<SetResult> => {
      // Once closing, nothing flushes later: a straggling write goes straight through.
      const durable = options.durable === true || this.#closed;
      for (let attempt = 1; ; attempt++) {
        const outcome = durable
          ? await this.#setDurably(appId, name, expectedVersion, next)
          : await this.#compareAndSet(appId, name, expectedVersion, next);
        switch (outcome.kind) {
          case 'stored':
            if (!durable) this.#markPending(appId, name);
            this.#remember(key, next, flight);
            return { ok: true };
          case 'conflict':
            this.#remember(key, outcome.current, flight);
            return { ok: false, current: outcome.current };
          case 'missing':
            if (attempt >= MISS_RETRIES)
              throw new Error(`Record ${name} keeps vanishing from Redis.`);
            await this.#load(appId, name);
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
      this.#pending.delete(key);
      await this.#replaceFromPostgres(appId, name, async (tx) => {
        await tx.record.deleteMany({ where: { appId, name } });
        return null;
      });
      this.#remember(key, null, flight);
    });
  }

  reload(appId: string, name: string): Promise<StoredRecord | null> {
    const key = keyOf(appId, name);
    return this.#operation(key, async (flight) => {
      // Postgres wins: writes not persisted yet are dropped, as in the local store.
      this.#pending.delete(key);
      const record = await this.#replaceFromPostgres(appId, name, async (tx) => {
        const row = await tx.record.findUnique({ where: { appId_name: { appId, name } } });
        return row ? { version: row.version, data: row.data } : null;
      });
      this.#remember(key, record, flight);
      return record;
    });
  }

  hold(appId: string, name: string): void {
    const key = keyOf(appId, name);
    this.#holds.set(key, (this.#holds.get(key) ?? 0) + 1);
    this.#idle.delete(key);
  }

  release(appId: string, name: string): void {
    const key = keyOf(appId, name);
    const count = (this.#holds.get(key) ?? 0) - 1;
    if (count > 0) {
      this.#holds.set(key, count);
      return;
    }
    this.#holds.delete(key);
    if (this.#cache.has(key)) this.#makeIdle(key);
  }

  /** How far Postgres is behind the writes this node made (one Redis round trip). */
  async persistenceLag(): Promise<PersistenceLag> {
    const apps = [...this.#writtenApps];
    const pipeline = this.#redis.pipeline();
    for (const appId of apps) {
      const dirty = recordKeys.dirty(this.#prefix, appId);
      pipeline.zcard(dirty).zrange(dirty, 0, 0, 'WITHSCORES');
    }
    const results = apps.length > 0 ? ((await pipeline.exec()) ?? []) : [];
    const now = Date.now();
    const pendingApps = new Set([...this.#pending.values()].map((ref) => ref.appId));
    let unpersistedRecords = 0;
    let oldest = now;
    apps.forEach((appId, i) => {
      const [countError, count] = results[2 * i] ?? [];
      const [oldestError, first] = results[2 * i + 1] ?? [];
      if (countError || oldestError) throw countError ?? oldestError;
      unpersistedRecords += Number(count);
      const score = (first as string[] | undefined)?.[1];
      if (score !== undefined) oldest = Math.min(oldest, Number(score));
      if (Number(count) === 0 && !pendingApps.has(appId)) this.#writtenApps.delete(appId);
    });
    if (this.#pending.size > 0) oldest = Math.min(oldest, this.#pendingSince);
    return {
      unpersistedRecords,
      oldestUnpersistedMs: Math.max(0, now - oldest),
      awaitingBatch: this.#pending.size,
    };
  }

  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#closed = true;
    while (this.#operations.size > 0) await Promise.allSettled([...this.#operations]);
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    await this.#flushing;
    // What is left is persisted here and now; only if that fails does it go to the queue.
    const refs = this.#takePending();
    for (let i = 0; i < refs.length; i += MAX_RECORDS_PER_BATCH) {
      const batch = refs.slice(i, i + MAX_RECORDS_PER_BATCH);
      try {
        await persistRecords(
          { redis: this.#redis, prisma: this.#prisma, keyPrefix: this.#prefix },
          batch,
        );
      } catch (error) {
        this.#log.warn(
          { err: error, records: batch.length },
          'persisting records at shutdown failed; queueing them',
        );
        await this.#jobs
          .enqueue(PERSIST_RECORDS_JOB, { records: batch })
          .catch((queueError) =>
            this.#log.error(
              { err: queueError, records: batch.length },
              'records not persisted at shutdown',
            ),
          );
      }
    }
    this.#deafen();
    this.#subscriber.disconnect();
    if (this.#ownsRedis) await this.#redis.quit();
  }

  // Redis and Postgres ------------------------------------------------------

  /** What Redis holds, loading Postgres' copy into Redis on a miss. */
  async #load(appId: string, name: string): Promise<StoredRecord | null> {
    const [version, json] = await this.#redis.hmget(
      recordKeys.record(this.#prefix, appId, name),
      'v',
      'd',
    );
    if (version != null) return decode(Number(version), json ?? null);
    const row = await this.#prisma.record.findUnique({ where: { appId_name: { appId, name } } });
    const [seeded, seededJson] = await this.#redis.hsRecordSeed(
      recordKeys.record(this.#prefix, appId, name),
      row ? row.version : -1,
      row ? JSON.stringify(row.data) : '',
      this.#absentTtlMs,
    );
    return decode(seeded, seededJson);
  }

  async #compareAndSet(
    appId: string,
    name: string,
    expected: number,
    next: StoredRecord,
  ): Promise<Outcome> {
    const change: Change = [this.#origin, name, next.version, 0];
    const reply = await this.#redis.hsRecordCas(
      recordKeys.record(this.#prefix, appId, name),
      recordKeys.dirty(this.#prefix, appId),
      expected,
      next.version,
      jsonOf(next),
      name,
      Date.now(),
      recordKeys.changes(this.#prefix, appId),
      JSON.stringify(change),
    );
    switch (reply[0]) {
      case 0:
        return { kind: 'missing' };
      case 1:
        this.#writtenApps.add(appId);
        return { kind: 'stored' };
      case 2:
        return { kind: 'conflict', current: decode(reply[1], reply[2]) };
      default:
        throw new Error(`Unexpected compare-and-set reply ${JSON.stringify(reply)}`);
    }
  }

  /** Upsert, compare-and-set, commit: Postgres never keeps a version Redis refused. */
  async #setDurably(
    appId: string,
    name: string,
    expected: number,
    next: StoredRecord,
  ): Promise<Outcome> {
    let stored = false;
    try {
      await this.#prisma.$transaction(async (tx) => {
        await lockRecords(tx, [{ appId, name }], 'shared');
        await upsertRecords(tx, [{ appId, name, version: next.version, json: jsonOf(next) }]);
        const outcome = await this.#compareAndSet(appId, name, expected, next);
        if (outcome.kind !== 'stored') throw new Rollback(outcome);
        stored = true;
      }, RECORD_TRANSACTION);
    } catch (error) {
      if (error instanceof Rollback) return error.outcome;
      if (stored) {
        // The commit failed after Redis took the write: whether Postgres has
        // it is unknown, so the writer hears of a failure and a batch makes
        // sure of it.
        this.#markPending(appId, name);
        this.#forget(keyOf(appId, name));
      }
      throw error;
    }
    await markPersisted(this.#redis, this.#prefix, [{ appId, name, version: next.version }]).catch(
      (error: unknown) => {
        // Only the lag metric and a redundant batch suffer.
        this.#log.warn(
          { err: error, app: appId, record: name },
          'marking a record persisted failed',
        );
        this.#markPending(appId, name);
      },
    );
    return { kind: 'stored' };
  }

  /**
   * Runs `change` on Postgres under the record's exclusive lock and makes
   * Redis hold its outcome before the commit, so no batch or durable write
   * can slip in between.
   */
  async #replaceFromPostgres(
    appId: string,
    name: string,
    change: (tx: Prisma.TransactionClient) => Promise<StoredRecord | null>,
  ): Promise<StoredRecord | null> {
    const recordKey = recordKeys.record(this.#prefix, appId, name);
    let replaced = false;
    try {
      return await this.#prisma.$transaction(async (tx) => {
        await lockRecords(tx, [{ appId, name }], 'exclusive');
        const record = await change(tx);
        const announcement: Change = [this.#origin, name, record?.version ?? -1, 1];
        await this.#redis.hsRecordReplace(
          recordKey,
          recordKeys.dirty(this.#prefix, appId),
          record?.version ?? -1,
          record ? jsonOf(record) : '',
          this.#absentTtlMs,
          name,
          recordKeys.changes(this.#prefix, appId),
          JSON.stringify(announcement),
        );
        replaced = true;
        return record;
      }, RECORD_TRANSACTION);
    } catch (error) {
      // Redis changed but the commit failed: let the next read ask Postgres.
      if (replaced) await this.#redis.del(recordKey).catch(() => {});
      this.#forget(keyOf(appId, name));
      throw error;
    }
  }

  // Persistence batches -------------------------------------------------------

  #markPending(appId: string, name: string) {
    if (this.#pending.size === 0) this.#pendingSince = Date.now();
    this.#pending.set(keyOf(appId, name), { appId, name });
    this.#writtenApps.add(appId);
    this.#schedule(this.#retryMs || this.#flushDelayMs);
  }

  #takePending(): RecordRef[] {
    const refs = [...this.#pending.values()];
    this.#pending.clear();
    return refs;
  }

  #schedule(delayMs: number) {
    if (this.#timer || this.#flushing || this.#closed) return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.#flushing = this.#enqueuePending().finally(() => {
        this.#flushing = null;
        if (this.#pending.size > 0) this.#schedule(this.#retryMs || this.#flushDelayMs);
      });
    }, delayMs);
    this.#timer.unref();
  }

  async #enqueuePending(): Promise<void> {
    const since = this.#pendingSince;
    const refs = this.#takePending();
    let failed = false;
    for (let i = 0; i < refs.length; i += MAX_RECORDS_PER_BATCH) {
      const batch = refs.slice(i, i + MAX_RECORDS_PER_BATCH);
      try {
        await this.#jobs.enqueue(PERSIST_RECORDS_JOB, { records: batch });
      } catch (error) {
        failed = true;
        this.#log.error(
          { err: error, records: batch.length },
          'queueing records failed; will retry',
        );
        // Back in line, keeping the age of the oldest write for the lag metric.
        this.#pendingSince = this.#pending.size === 0 ? since : Math.min(this.#pendingSince, since);
        for (const ref of batch) {
          const key = keyOf(ref.appId, ref.name);
          if (!this.#pending.has(key)) this.#pending.set(key, ref);
        }
      }
    }
    this.#retryMs = failed ? Math.min(RETRY_MAX_MS, this.#retryMs * 2 || RETRY_MIN_MS) : 0;
  }

  // The local cache -------------------------------------------------------------

  /**
   * Runs `task` on the record, tracked so changes heard meanwhile keep its
   * result out of the cache. Until the store first hears the cluster (at
   * most STARTUP_WAIT_MS), operations wait, so their results can be cached.
   */
  #operation<T>(key: string, task: (flight: Flight) => Promise<T>): Promise<T> {
    const run = async () => {
      if (!this.#listenedOnce) await this.#started;
      let flight = this.#flights.get(key);
      if (!flight) {
        flight = { count: 0, staleBelow: Number.NEGATIVE_INFINITY };
        this.#flights.set(key, flight);
      }
      flight.count++;
      try {
        return await task(flight);
      } finally {
        if (--flight.count === 0) this.#flights.delete(key);
      }
    };
    const done: Promise<T> = run().finally(() => this.#operations.delete(done));
    this.#operations.add(done);
    return done;
  }

  #remember(key: string, record: StoredRecord | null, flight: Flight) {
    if (!this.#listening || (record?.version ?? -1) < flight.staleBelow) return;
    this.#cache.set(key, record);
    if (this.#holds.has(key)) this.#idle.delete(key);
    else this.#makeIdle(key);
  }

  #forget(key: string) {
    this.#cache.delete(key);
    this.#idle.delete(key);
  }

  #makeIdle(key: string) {
    this.#idle.delete(key);
    this.#idle.add(key);
    for (const idle of this.#idle) {
      if (this.#idle.size <= this.#maxCached) break;
      this.#forget(idle);
    }
  }

  #heard(channel: string, message: string) {
    const appId = channel.slice(this.#prefix.length + 'hs:'.length, -CHANNEL_SUFFIX.length);
    let change: Change;
    try {
      change = JSON.parse(message) as Change;
    } catch {
      return;
    }
    const [origin, name, version, replaced] = change;
    if (origin === this.#origin) return;
    const key = keyOf(appId, name);
    // Versions only repeat after a delete or reload, which always counts as news.
    const staleBelow = replaced ? Number.POSITIVE_INFINITY : version;
    const flight = this.#flights.get(key);
    if (flight) flight.staleBelow = Math.max(flight.staleBelow, staleBelow);
    const cached = this.#cache.get(key);
    if (cached !== undefined && (cached?.version ?? -1) < staleBelow) this.#forget(key);
  }

  async #listen() {
    try {
      await this.#subscriber.psubscribe(`${this.#prefix}hs:*${CHANNEL_SUFFIX}`);
    } catch (error) {
      this.#log.warn({ err: error }, 'subscribing to record changes failed');
      return;
    }
    if (this.#closed) return;
    // What is in flight read Redis before changes could be heard.
    for (const flight of this.#flights.values()) flight.staleBelow = Number.POSITIVE_INFINITY;
    this.#listening = true;
    this.#listenedOnce = true;
    this.#heardCluster();
  }

  #deafen() {
    this.#listening = false;
    this.#cache.clear();
    this.#idle.clear();
  }
}
