import {
  checkPayload,
  type JobDefinition,
  type JobLogger,
  type JobQueue,
  UnknownJobError,
} from './jobs.ts';

/** Runs jobs in this process, in the background, with retries and backoff. */
export class InlineJobQueue implements JobQueue {
  readonly #definitions: Map<string, JobDefinition>;
  readonly #logger: JobLogger;
  readonly #running = new Set<Promise<void>>();
  #closed = false;

  constructor(definitions: readonly JobDefinition[], logger: JobLogger) {
    this.#definitions = new Map(definitions.map((d) => [d.name, d]));
    this.#logger = logger;
  }

  async enqueue(name: string, payload: unknown): Promise<void> {
    if (this.#closed) throw new Error('The job queue is closed.');
    const definition = this.#definitions.get(name);
    if (!definition) throw new UnknownJobError(`No job is defined with the name ${name}.`);
    checkPayload(definition, payload);
    const run = this.#run(definition, payload).finally(() => this.#running.delete(run));
    this.#running.add(run);
  }

  async #run(definition: JobDefinition, payload: unknown): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await definition.handle(payload);
        return;
      } catch (error) {
        if (attempt >= definition.attempts) {
          this.#logger.error({ err: error, job: definition.name, attempt }, 'job failed for good');
          return;
        }
        const delay = definition.backoffMs * 2 ** (attempt - 1);
        this.#logger.warn(
          { err: error, job: definition.name, attempt, delay },
          'job failed; retrying',
        );
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all([...this.#running]);
  }
}
