import type { ClusterBus } from '@hubstream/cluster';
import {
  type AppChangeKind,
  type Prisma,
  type PrismaClient,
  publishAppChanges,
  recordAppChange,
} from '@hubstream/db';
import type { Logger } from '@hubstream/service';

/** Between tries after a failed publish: doubling from the first to the last. */
const RETRY_FIRST_MS = 500;
const RETRY_LAST_MS = 30_000;
/** How often to publish what another control plane left (it stopped between commit and publish). */
const SWEEP_EVERY_MS = 30_000;

/**
 * The one way the control plane says that an app changed. The change and
 * its announcement (a row of the app_changes outbox, with the app's config
 * version after the change) commit in one transaction; after the commit the
 * waiting announcements go out on the cluster bus. A publish that fails is
 * tried again, from the first try after half a second up to every 30 s,
 * and every 30 s whatever is still waiting (another process stopped between
 * its commit and its publish) goes out too. Realtime nodes compare the
 * version with the one they loaded; their own freshness check covers the
 * time until an announcement arrives.
 */
export class AppChanges {
  readonly #prisma: PrismaClient;
  readonly #bus: ClusterBus;
  readonly #log: Logger;
  #flushing: Promise<void> | null = null;
  #again = false;
  #retry: NodeJS.Timeout | null = null;
  #retryMs = RETRY_FIRST_MS;
  #sweep: NodeJS.Timeout | null = null;
  #closed = false;

  constructor(prisma: PrismaClient, bus: ClusterBus, log: Logger) {
    this.#prisma = prisma;
    this.#bus = bus;
    this.#log = log;
  }

  /**
   * Runs `change` in one transaction with the announcement that `appId`
   * changed (`what`), then announces it. Resolves to what `change` returned,
   * once the announcement went out or is queued for a retry.
   */
  async change<T>(
    appId: string,
    what: AppChangeKind,
    change: (tx: Prisma.TransactionClient) => Promise<T>,
  ): Promise<T> {
    const result = await this.#prisma.$transaction(async (tx) => {
      const value = await change(tx);
      await recordAppChange(tx, appId, what);
      return value;
    });
    await this.flush();
    return result;
  }

  /**
   * Records the announcement in a transaction the caller runs (one that
   * changes several apps); the caller calls flush() after its commit.
   */
  record(tx: Prisma.TransactionClient, appId: string, what: AppChangeKind): Promise<void> {
    return recordAppChange(tx, appId, what);
  }

  /** Publishes every waiting announcement. Never rejects: a failure is logged and retried. */
  flush(): Promise<void> {
    if (this.#flushing) {
      // Rows committed after the running pass began may not be in it.
      this.#again = true;
      return this.#flushing;
    }
    this.#flushing = this.#flushAll().finally(() => {
      this.#flushing = null;
    });
    return this.#flushing;
  }

  async #flushAll(): Promise<void> {
    do {
      this.#again = false;
      try {
        while ((await publishAppChanges(this.#prisma, (changes) => this.#publish(changes))) > 0);
        this.#retryMs = RETRY_FIRST_MS;
      } catch (error) {
        this.#log.warn(
          { err: error, retryInMs: this.#retryMs },
          'publishing app changes failed: trying again',
        );
        this.#scheduleRetry();
        return;
      }
    } while (this.#again);
  }

  async #publish(
    changes: readonly { appId: string; what: AppChangeKind; configVersion: bigint | null }[],
  ) {
    for (const change of changes) {
      await this.#bus.publish(change.appId, 'app.changed', {
        what: change.what,
        ...(change.configVersion !== null ? { version: change.configVersion.toString() } : {}),
      });
    }
  }

  #scheduleRetry() {
    if (this.#closed || this.#retry) return;
    const wait = this.#retryMs;
    this.#retryMs = Math.min(wait * 2, RETRY_LAST_MS);
    this.#retry = setTimeout(() => {
      this.#retry = null;
      void this.flush();
    }, wait);
    this.#retry.unref();
  }

  /** Publishes what is waiting now and then every 30 s. */
  start(): void {
    if (this.#sweep || this.#closed) return;
    void this.flush();
    this.#sweep = setInterval(() => void this.flush(), SWEEP_EVERY_MS);
    this.#sweep.unref();
  }

  /** Stops the timers and waits for a publish under way. */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#sweep) clearInterval(this.#sweep);
    if (this.#retry) clearTimeout(this.#retry);
    this.#sweep = this.#retry = null;
    await this.#flushing;
  }
}
