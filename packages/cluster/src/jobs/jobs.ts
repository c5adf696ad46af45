import type { Static, TSchema } from 'typebox';
import Value from 'typebox/value';

// Background work (emails, persistence batches, purges) as typed jobs: a
// name, a payload schema and a handler. The queue is an interface: inline in
// the single-process mode, BullMQ in production (cluster issue). Handlers
// must be idempotent: a job may run more than once.

export type JobDefinition<S extends TSchema = TSchema> = {
  name: string;
  payload: S;
  /** Total tries, including the first. */
  attempts: number;
  /** Delay before the second try; doubles for each later one. */
  backoffMs: number;
  handle(payload: Static<S>): Promise<void>;
};

export function defineJob<S extends TSchema>(definition: JobDefinition<S>): JobDefinition<S> {
  return definition;
}

export class UnknownJobError extends Error {
  override readonly name = 'UnknownJobError';
}

export class InvalidJobPayloadError extends Error {
  override readonly name = 'InvalidJobPayloadError';
}

export interface JobQueue {
  /** Validates and stores the job; resolves once it is queued, not run. */
  enqueue(name: string, payload: unknown): Promise<void>;
  /** Stops taking jobs and waits for the queued ones to finish. */
  close(): Promise<void>;
}

export type JobLogger = {
  warn(object: object, message: string): void;
  error(object: object, message: string): void;
};

export function checkPayload(definition: JobDefinition, payload: unknown) {
  if (!Value.Check(definition.payload, payload)) {
    const first = [...Value.Errors(definition.payload, payload)][0];
    throw new InvalidJobPayloadError(
      `Job ${definition.name}: invalid payload${first ? ` at ${first.instancePath || '/'}: ${first.message}` : ''}`,
    );
  }
}
