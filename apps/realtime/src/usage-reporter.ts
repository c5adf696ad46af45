import { randomUUID } from 'node:crypto';
import {
  InvalidJobPayloadError,
  type JobLogger,
  type JobQueue,
  UnknownJobError,
} from '@hubstream/cluster';
import { USAGE_ROLLUP_JOB } from '@hubstream/jobs';

// Hands what this node counted per app to the worker's usage-rollup job,
// which adds the reports of every node into the app's per-minute usage
// sample. Each report carries a fresh id, so the job counts it once however
// often it runs. The job's contract (name, payload schema) is @hubstream/jobs's.

/** Counters a runtime keeps (AppRuntime.usage). */
export type UsageCounters = {
  /** Messages from logged-in clients, also those then refused. */
  messagesIn: number;
  denied: number;
  /** Messages sent to clients; each copy of a fan-out counts. */
  messagesOut: number;
  /** Connections, messages and rules' record loads refused by the app's limits. */
  rateLimited: number;
};

/** What the reporter reads of an app's runtime on this node. */
export type UsageSource = {
  readonly appId: string;
  readonly connections: { readonly size: number };
  readonly usage: UsageCounters;
};

export type UsageReport = {
  reportId: string;
  nodeId: string;
  appId: string;
  /** Start of the minute the counts belong to (ISO 8601, UTC). */
  minute: string;
  peakConnections: number;
  messagesIn: number;
  messagesOut: number;
  denied: number;
  rateLimited: number;
};

const MINUTE_MS = 60_000;
/** Reports the queue refused (Redis away) are kept for the next round, up to this many. */
export const MAX_UNSENT_REPORTS = 10_000;

export type UsageReporterOptions = {
  nodeId: string;
  /** The apps this node has loaded (the registry's runtimes). */
  runtimes: () => Promise<readonly UsageSource[]>;
  jobs: JobQueue;
  /** How often to report; on whole multiples of it, so the default reports each whole minute. */
  intervalMs?: number;
  /** How often to look at open connections, for the peak. */
  sampleIntervalMs?: number;
  logger: JobLogger;
  /** Default MAX_UNSENT_REPORTS. */
  maxUnsent?: number;
  now?: () => number;
};

/**
 * Reads and resets every loaded app's usage counters once per interval and
 * queues one usage-rollup job per app that had any activity. Between
 * reports it samples open connections for the peak. Counts go to the
 * minute in which their interval began.
 */
export class UsageReporter {
  readonly #nodeId: string;
  readonly #runtimes: () => Promise<readonly UsageSource[]>;
  readonly #jobs: JobQueue;
  readonly #intervalMs: number;
  readonly #sampleIntervalMs: number;
  readonly #log: JobLogger;
  readonly #now: () => number;
  readonly #maxUnsent: number;
  /** Every app seen since the last report, with its peak; an app dropped meanwhile is reported once more. */
  readonly #tracked = new Map<UsageSource, { peak: number }>();
  #unsent: UsageReport[] = [];
  #windowStart: number;
  #sampleTimer: NodeJS.Timeout | undefined;
  #reportTimer: NodeJS.Timeout | undefined;
  #reporting: Promise<void> | null = null;
  #stopped = false;

  constructor(options: UsageReporterOptions) {
    this.#nodeId = options.nodeId;
    this.#runtimes = options.runtimes;
    this.#jobs = options.jobs;
    this.#intervalMs = options.intervalMs ?? MINUTE_MS;
    this.#sampleIntervalMs = options.sampleIntervalMs ?? Math.min(1_000, this.#intervalMs);
    this.#log = options.logger;
    this.#now = options.now ?? Date.now;
    this.#maxUnsent = options.maxUnsent ?? MAX_UNSENT_REPORTS;
    this.#windowStart = this.#now();
  }

  /** Starts sampling and reporting on timers. */
  start(): void {
    this.#windowStart = this.#now();
    this.#sampleTimer = setInterval(() => {
      this.sample().catch((error: unknown) =>
        this.#log.warn({ err: error }, 'sampling usage failed'),
      );
    }, this.#sampleIntervalMs);
    this.#sampleTimer.unref();
    this.#schedule();
  }

  #schedule(): void {
    if (this.#stopped) return;
    const delay = this.#intervalMs - (this.#now() % this.#intervalMs);
    this.#reportTimer = setTimeout(() => {
      this.report()
        .catch((error: unknown) => this.#log.error({ err: error }, 'reporting usage failed'))
        .finally(() => this.#schedule());
    }, delay);
    this.#reportTimer.unref();
  }

  /** Notes every loaded app's open connections, for the peak. */
  async sample(): Promise<void> {
    for (const runtime of await this.#runtimes()) this.#observe(runtime);
  }

  /** Reports and resets what every app counted since the last report; resolves once queued. */
  async report(): Promise<void> {
    while (this.#reporting) await this.#reporting;
    const run = this.#report();
    this.#reporting = run;
    try {
      await run;
    } finally {
      this.#reporting = null;
    }
  }

  /** Stops the timers and reports what is left (the node is going away). */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#sampleTimer);
    clearTimeout(this.#reportTimer);
    await this.report();
  }

  /** Reports waiting for the queue to take them (for tests and metrics). */
  get unsent(): number {
    return this.#unsent.length;
  }

  #observe(runtime: UsageSource): void {
    const open = runtime.connections.size;
    const tracked = this.#tracked.get(runtime);
    if (tracked) tracked.peak = Math.max(tracked.peak, open);
    else this.#tracked.set(runtime, { peak: open });
  }

  async #report(): Promise<void> {
    const live = new Set(await this.#runtimes());
    for (const runtime of live) this.#observe(runtime);
    // From here to the end of the loop nothing awaits: no count slips between read and reset.
    const minute = new Date(Math.floor(this.#windowStart / MINUTE_MS) * MINUTE_MS).toISOString();
    this.#windowStart = this.#now();
    const reports: UsageReport[] = [];
    for (const [runtime, tracked] of this.#tracked) {
      const usage = runtime.usage;
      const report: UsageReport = {
        reportId: randomUUID(),
        nodeId: this.#nodeId,
        appId: runtime.appId,
        minute,
        peakConnections: tracked.peak,
        messagesIn: usage.messagesIn,
        messagesOut: usage.messagesOut,
        denied: usage.denied,
        rateLimited: usage.rateLimited,
      };
      usage.messagesIn = 0;
      usage.denied = 0;
      usage.messagesOut = 0;
      usage.rateLimited = 0;
      // Connections still open belong to the next interval's peak too.
      if (live.has(runtime)) tracked.peak = runtime.connections.size;
      else this.#tracked.delete(runtime);
      const active =
        report.peakConnections +
        report.messagesIn +
        report.messagesOut +
        report.denied +
        report.rateLimited;
      if (active > 0) reports.push(report);
    }
    await this.#send([...this.#unsent, ...reports]);
  }

  async #send(reports: UsageReport[]): Promise<void> {
    this.#unsent = [];
    const results = await Promise.allSettled(
      reports.map((report) => this.#jobs.enqueue(USAGE_ROLLUP_JOB, report)),
    );
    let failure: unknown;
    results.forEach((result, i) => {
      if (result.status === 'fulfilled') return;
      const report = reports[i] as UsageReport;
      if (
        result.reason instanceof InvalidJobPayloadError ||
        result.reason instanceof UnknownJobError
      ) {
        // Trying again would not help: a bug, not an outage.
        this.#log.error({ err: result.reason, app: report.appId }, 'usage report refused');
        return;
      }
      failure = result.reason;
      this.#unsent.push(report);
    });
    if (this.#unsent.length > this.#maxUnsent) {
      const dropped = this.#unsent.splice(0, this.#unsent.length - this.#maxUnsent);
      this.#log.error({ dropped: dropped.length }, 'usage reports dropped: the queue is away');
    }
    if (failure !== undefined) {
      this.#log.warn(
        { err: failure, unsent: this.#unsent.length },
        'could not queue usage reports; will retry with the next report',
      );
    }
  }
}
