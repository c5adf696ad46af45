import { type PrismaClient, writeUsageSample } from '@hubstream/db';
import {
  jobHandler,
  USAGE_ROLLUP_JOB,
  type UsageRollup,
  usageRollupContract,
} from '@hubstream/jobs';
import type { Redis } from 'ioredis';

// Usage per app per minute. Each realtime node reports, for each app it
// served, what it counted since its last report; several reports (nodes,
// or one node reporting more than once in a minute) make up a minute.
//
// Idempotency: every report has an id, and the job files it in a ledger
// keyed by (app, minute) where storing a report id again replaces it. The
// job then writes the sum of the whole ledger to the usage sample, keeping
// the larger of the stored and the new value per column. A retried or
// replayed report therefore changes nothing, and two jobs of the same
// minute racing each other cannot lose a report: the one that reads the
// ledger last writes the complete sum, and a stale sum never lowers it.

export type UsageCounts = Pick<
  UsageRollup,
  'peakConnections' | 'messagesIn' | 'messagesOut' | 'denied' | 'rateLimited'
>;

/** One report as the ledger keeps it. */
export type LedgerEntry = UsageCounts & { nodeId: string };

/** Every report of an (app, minute), by report id. */
export interface UsageLedger {
  /** Files the report (replacing one with the same id) and returns every report of its minute. */
  record(report: UsageRollup): Promise<LedgerEntry[]>;
  /** Drops an (app, minute): the app is gone. */
  forget(appId: string, minute: string): Promise<void>;
}

/**
 * Long enough for every retry of a report to find the ledger; a retry after
 * that is still harmless (its smaller sum never lowers the stored one).
 */
export const LEDGER_RETENTION_MS = 48 * 3600 * 1000;

const entryOf = (r: UsageRollup): LedgerEntry => ({
  nodeId: r.nodeId,
  peakConnections: r.peakConnections,
  messagesIn: r.messagesIn,
  messagesOut: r.messagesOut,
  denied: r.denied,
  rateLimited: r.rateLimited,
});

/** The ledger of the single process without Redis. */
export class MemoryUsageLedger implements UsageLedger {
  readonly #minutes = new Map<string, { expiresAt: number; reports: Map<string, LedgerEntry> }>();
  readonly #now: () => number;

  constructor(options: { now?: () => number } = {}) {
    this.#now = options.now ?? Date.now;
  }

  async record(report: UsageRollup): Promise<LedgerEntry[]> {
    const now = this.#now();
    for (const [key, minute] of this.#minutes)
      if (minute.expiresAt <= now) this.#minutes.delete(key);
    const key = `${report.appId}/${report.minute}`;
    const minute = this.#minutes.get(key) ?? { expiresAt: 0, reports: new Map() };
    minute.expiresAt = now + LEDGER_RETENTION_MS;
    minute.reports.set(report.reportId, entryOf(report));
    this.#minutes.set(key, minute);
    return [...minute.reports.values()];
  }

  async forget(appId: string, minute: string): Promise<void> {
    this.#minutes.delete(`${appId}/${minute}`);
  }
}

/** The ledger in Redis: one hash per (app, minute) under the app's keys. */
export class RedisUsageLedger implements UsageLedger {
  readonly #redis: Redis;
  readonly #prefix: string;

  constructor(options: { redis: Redis; keyPrefix?: string }) {
    this.#redis = options.redis;
    this.#prefix = options.keyPrefix ?? '';
  }

  #key(appId: string, minute: string): string {
    return `${this.#prefix}hs:${appId}:usage:${minute}`;
  }

  async forget(appId: string, minute: string): Promise<void> {
    await this.#redis.unlink(this.#key(appId, minute));
  }

  async record(report: UsageRollup): Promise<LedgerEntry[]> {
    const key = this.#key(report.appId, report.minute);
    const results = await this.#redis
      .multi()
      .hset(key, report.reportId, JSON.stringify(entryOf(report)))
      .pexpire(key, LEDGER_RETENTION_MS)
      .hvals(key)
      .exec();
    const failed = results?.find(([error]) => error);
    if (!results || failed)
      throw failed?.[0] ?? new Error('the usage ledger transaction was aborted');
    const values = results[2]?.[1] as string[];
    return values.map((value) => JSON.parse(value) as LedgerEntry);
  }
}

/**
 * The minute's totals: counters add up; the peak is the sum over nodes of
 * each node's highest peak (a node reporting twice in a minute saw the same
 * connections twice, while two nodes hold different ones).
 */
export function totalsOf(entries: readonly LedgerEntry[]): UsageCounts {
  const peaks = new Map<string, number>();
  const totals: UsageCounts = {
    peakConnections: 0,
    messagesIn: 0,
    messagesOut: 0,
    denied: 0,
    rateLimited: 0,
  };
  for (const entry of entries) {
    peaks.set(entry.nodeId, Math.max(peaks.get(entry.nodeId) ?? 0, entry.peakConnections));
    totals.messagesIn += entry.messagesIn;
    totals.messagesOut += entry.messagesOut;
    totals.denied += entry.denied;
    totals.rateLimited += entry.rateLimited;
  }
  for (const peak of peaks.values()) totals.peakConnections += peak;
  return totals;
}

export function usageRollupJob(options: { prisma: PrismaClient | undefined; ledger: UsageLedger }) {
  const { prisma, ledger } = options;
  return jobHandler(usageRollupContract, async (report) => {
    if (!prisma)
      throw new Error(`${USAGE_ROLLUP_JOB} needs the database, which this process lacks.`);
    const totals = totalsOf(await ledger.record(report));
    // Kept unless the stored totals are larger; false when the app is gone.
    const stored = await writeUsageSample(prisma, report.appId, report.minute, totals);
    // A report that arrives after the app's purge must not leave its
    // ledger behind under the deleted app's keys.
    if (!stored) await ledger.forget(report.appId, report.minute);
  });
}
