import type { JobQueue } from '@hubstream/cluster';
import type { PrismaClient } from '@hubstream/db';
import { enqueueJob, MAX_RECORDS_PER_BATCH, persistRecordsContract } from '@hubstream/jobs';
import type { Redis } from 'ioredis';
import { persistRecords } from './persist-records.ts';
import { recordKeys } from './record-keys.ts';
import type { RecordRef } from './record-sql.ts';
import type { PersistenceLag, RecordsLogger } from './record-store.ts';

// Lazy writes of the Redis record store reach Postgres in batches: names
// written gather for `flushDelayMs`, then go to the job queue as one
// `persist-records` job per MAX_RECORDS_PER_BATCH; the job reads what Redis
// holds when it runs. A queue that fails is retried with backoff. At close,
// what is left is persisted here and now.

const RETRY_MIN_MS = 500;
const RETRY_MAX_MS = 30_000;

// App ids never contain '/', so the first '/' separates the app from the name.
export const keyOf = (appId: string, name: string) => `${appId}/${name}`;

export class PersistenceBatches {
  readonly #redis: Redis;
  readonly #prisma: PrismaClient;
  readonly #jobs: JobQueue;
  readonly #log: RecordsLogger;
  readonly #prefix: string;
  readonly #flushDelayMs: number;
  /** Written but not yet handed to the job queue, and since when. */
  readonly #pending = new Map<string, RecordRef>();
  #pendingSince = 0;
  /** Apps this node wrote to whose dirty sets the lag metric looks at. */
  readonly #writtenApps = new Set<string>();
  #timer: NodeJS.Timeout | null = null;
  #flushing: Promise<void> | null = null;
  #retryMs = 0;
  #closed = false;

  constructor(options: {
    redis: Redis;
    prisma: PrismaClient;
    jobs: JobQueue;
    logger: RecordsLogger;
    keyPrefix: string;
    flushDelayMs: number;
  }) {
    this.#redis = options.redis;
    this.#prisma = options.prisma;
    this.#jobs = options.jobs;
    this.#log = options.logger;
    this.#prefix = options.keyPrefix;
    this.#flushDelayMs = options.flushDelayMs;
  }

  /** The app has records this node wrote: the lag metric looks at it. */
  wrote(appId: string): void {
    this.#writtenApps.add(appId);
  }

  /** The record must reach Postgres through a batch. */
  add(appId: string, name: string): void {
    if (this.#pending.size === 0) this.#pendingSince = Date.now();
    this.#pending.set(keyOf(appId, name), { appId, name });
    this.#writtenApps.add(appId);
    this.#schedule(this.#retryMs || this.#flushDelayMs);
  }

  /** The record no longer needs a batch (deleted, or reloaded from Postgres). */
  drop(appId: string, name: string): void {
    this.#pending.delete(keyOf(appId, name));
  }

  /** How far Postgres is behind the writes this node made (one Redis round trip). */
  async lag(): Promise<PersistenceLag> {
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

  /** Stops batching and persists what is left directly; the queue only if that fails. */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    await this.#flushing;
    const refs = this.#take();
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
        await enqueueJob(this.#jobs, persistRecordsContract, { records: batch }).catch(
          (queueError) =>
            this.#log.error(
              { err: queueError, records: batch.length },
              'records not persisted at shutdown',
            ),
        );
      }
    }
  }

  #take(): RecordRef[] {
    const refs = [...this.#pending.values()];
    this.#pending.clear();
    return refs;
  }

  #schedule(delayMs: number) {
    if (this.#timer || this.#flushing || this.#closed) return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.#flushing = this.#enqueue().finally(() => {
        this.#flushing = null;
        if (this.#pending.size > 0) this.#schedule(this.#retryMs || this.#flushDelayMs);
      });
    }, delayMs);
    this.#timer.unref();
  }

  async #enqueue(): Promise<void> {
    const since = this.#pendingSince;
    const refs = this.#take();
    let failed = false;
    for (let i = 0; i < refs.length; i += MAX_RECORDS_PER_BATCH) {
      const batch = refs.slice(i, i + MAX_RECORDS_PER_BATCH);
      try {
        await enqueueJob(this.#jobs, persistRecordsContract, { records: batch });
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
}
