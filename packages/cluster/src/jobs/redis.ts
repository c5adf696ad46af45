import type { Job, Queue, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { loadBullMq, newRedis } from '../redis-modules.ts';
import {
  checkPayload,
  type JobDefinition,
  type JobLogger,
  type JobQueue,
  UnknownJobError,
} from './jobs.ts';

// The job queue on BullMQ (Redis). Every process can enqueue; processes that
// run jobs (the worker role, or the single process) pass `process: true`.
// Retries and backoff come from each job's definition.

export type BullMqJobQueueOptions = {
  url: string;
  definitions: readonly JobDefinition[];
  logger: JobLogger;
  /** Run jobs in this process as well as enqueue them. */
  process: boolean;
  /** BullMQ's key prefix; tests give each run its own. */
  prefix?: string;
  queueName?: string;
  concurrency?: number;
};

/** How a run of a job ended: done, failed with tries left, or failed for good. */
export type JobOutcome = 'completed' | 'retrying' | 'failed';

/** Told of every run this process finished; `job` is the job's name, or 'unknown' for one not defined here. */
export type JobRunObserver = (job: string, outcome: JobOutcome, durationMs: number) => void;

export class BullMqJobQueue implements JobQueue {
  readonly #definitions: Map<string, JobDefinition>;
  readonly #connection: Redis;
  readonly #name: string;
  readonly #common: { connection: Redis; prefix: string };
  #queue: Queue | null = null;
  readonly #worker: Worker | null;
  readonly #runObservers = new Set<JobRunObserver>();

  constructor(options: BullMqJobQueueOptions) {
    this.#definitions = new Map(options.definitions.map((d) => [d.name, d]));
    // BullMQ's blocking commands need requests that never give up.
    this.#connection = newRedis(options.url, { maxRetriesPerRequest: null });
    this.#common = { connection: this.#connection, prefix: options.prefix ?? 'hs:bull' };
    const common = this.#common;
    const name = options.queueName ?? 'hubstream';
    this.#name = name;
    // A process that only enqueues (a realtime node, the control plane)
    // loads BullMQ and makes its queue when it calls prepare() (a realtime
    // node, once it listens) or at its first job, not at its start.
    const bull = options.process ? loadBullMq() : null;
    if (bull) this.#queue = new bull.Queue(name, common);
    this.#worker = bull
      ? new bull.Worker(
          name,
          async (job) => {
            const definition = this.#definitions.get(job.name);
            if (!definition)
              throw new UnknownJobError(`No job is defined with the name ${job.name}.`);
            checkPayload(definition, job.data);
            await definition.handle(job.data);
          },
          { ...common, concurrency: options.concurrency ?? 4 },
        )
      : null;
    this.#worker?.on('completed', (job) => this.#ran(job, 'completed'));
    this.#worker?.on('failed', (job, error) => {
      const final = job !== undefined && job.attemptsMade >= (job.opts.attempts ?? 1);
      if (job) this.#ran(job, final ? 'failed' : 'retrying');
      const log = final ? options.logger.error : options.logger.warn;
      log.call(
        options.logger,
        { err: error, job: job?.name, attempt: job?.attemptsMade },
        final ? 'job failed for good' : 'job failed; retrying',
      );
    });
  }

  /** Watches the runs this process finishes (for metrics); returns the function that stops. */
  onJobRun(observer: JobRunObserver): () => void {
    this.#runObservers.add(observer);
    return () => this.#runObservers.delete(observer);
  }

  #ran(job: Job, outcome: JobOutcome): void {
    // Names outside the definitions (anything else in the queue) share one label.
    const name = this.#definitions.has(job.name) ? job.name : 'unknown';
    const took = job.finishedOn && job.processedOn ? job.finishedOn - job.processedOn : 0;
    for (const observe of this.#runObservers) observe(name, outcome, took);
  }

  /** The queue, made (and BullMQ loaded) the first time it is needed. */
  get #jobs(): Queue {
    this.#queue ??= new (loadBullMq().Queue)(this.#name, this.#common);
    return this.#queue;
  }

  /**
   * Makes the queue now (BullMQ loaded, its connection's commands defined)
   * rather than at the first job. A realtime node's first job is its first
   * usage report, at the first whole minute after its start, in the middle
   * of its clients' traffic: loading BullMQ then held the event loop for
   * 45-65 ms (a CPU profile of a cluster node during bench:attacks: module
   * compile and BullMQ's init). Called once the node listens, as its other
   * warm-ups are. Resolves when the queue is ready; never rejects (the first
   * job reports a failure).
   */
  async prepare(): Promise<void> {
    try {
      await this.#jobs.waitUntilReady();
    } catch {
      // Redis away: the first enqueue says so.
    }
  }

  /**
   * Resolves once Redis answers and the worker (if any) is connected and
   * taking jobs. (An enqueue-only queue waits for its connection: with
   * requests that never give up, a PING resolves once Redis is there.)
   */
  async ready(): Promise<void> {
    if (!this.#worker) {
      await this.#connection.ping();
      return;
    }
    await this.#jobs.waitUntilReady();
    await this.#worker.waitUntilReady();
  }

  async enqueue(name: string, payload: unknown): Promise<void> {
    const definition = this.#definitions.get(name);
    if (!definition) throw new UnknownJobError(`No job is defined with the name ${name}.`);
    checkPayload(definition, payload);
    await this.#jobs.add(name, payload, {
      attempts: definition.attempts,
      backoff: { type: 'exponential', delay: definition.backoffMs },
      removeOnComplete: 1000,
      removeOnFail: 5000,
    });
  }

  /** Waiting jobs (for metrics). */
  async depth(): Promise<number> {
    return this.#jobs.getWaitingCount();
  }

  /** Jobs by state (waiting, active, delayed, prioritized, failed, ...), for metrics. */
  async counts(): Promise<Record<string, number>> {
    return this.#jobs.getJobCounts(
      'waiting',
      'active',
      'delayed',
      'prioritized',
      'waiting-children',
      'failed',
    );
  }

  async close(): Promise<void> {
    // Lets jobs in progress finish; waiting ones stay in Redis for the next worker.
    await this.#worker?.close();
    await this.#queue?.close();
    await this.#connection.quit();
  }
}
