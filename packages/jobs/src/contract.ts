import type { JobDefinition, JobQueue } from '@hubstream/cluster';
import type { Static, TSchema } from 'typebox';

// A job's contract is what the processes that enqueue it and the worker
// that runs it must agree on: its name, its payload schema and how it is
// retried (the queue stores attempts and backoff with the job when it is
// enqueued). The handler is not part of it: handlers live only in
// apps/worker, so an enqueuing process builds no mailer, ledger or
// database access to queue a job.

export type JobContract<S extends TSchema = TSchema> = {
  readonly name: string;
  readonly payload: S;
  /** Total tries, including the first. */
  readonly attempts: number;
  /** Delay before the second try; doubles for each later one. */
  readonly backoffMs: number;
};

export function defineContract<S extends TSchema>(contract: JobContract<S>): JobContract<S> {
  return contract;
}

/** The job definition that runs `contract` with `handle` (the worker's side). */
export function jobHandler<S extends TSchema>(
  contract: JobContract<S>,
  handle: (payload: Static<S>) => Promise<void>,
): JobDefinition<S> {
  return {
    name: contract.name,
    payload: contract.payload,
    attempts: contract.attempts,
    backoffMs: contract.backoffMs,
    handle,
  };
}

/** Thrown by a job run in a process that only enqueues it (a queue wired by mistake). */
export class JobNotRunHereError extends Error {
  override readonly name = 'JobNotRunHereError';
}

/**
 * Definitions for a queue that only enqueues (`processJobs: false`): each
 * validates its payload on enqueue like the worker's; running one here
 * throws, as the worker runs them.
 */
export function enqueueOnly(contracts: readonly JobContract[]): JobDefinition[] {
  return contracts.map((contract) =>
    jobHandler(contract, async () => {
      throw new JobNotRunHereError(
        `Job ${contract.name} runs in the worker, not in this process (it only enqueues).`,
      );
    }),
  );
}

/** Enqueues `payload` as a `contract` job; the payload's type is checked at compile time. */
export function enqueueJob<S extends TSchema>(
  queue: JobQueue,
  contract: JobContract<S>,
  payload: Static<S>,
): Promise<void> {
  return queue.enqueue(contract.name, payload);
}
