import Type from 'typebox';
import { describe, expect, it } from 'vitest';
import {
  defineJob,
  InvalidJobPayloadError,
  type JobDefinition,
  type JobLogger,
  type JobQueue,
  UnknownJobError,
} from '../src/index.ts';

// The contract every JobQueue that runs jobs must keep; the BullMQ queue runs
// the same suite against a real Redis.

export type MakeQueue = (definitions: JobDefinition[], logger: JobLogger) => Promise<JobQueue>;

const quiet: JobLogger = { warn() {}, error() {} };

export function jobQueueContract(name: string, make: MakeQueue) {
  describe(`${name} job queue contract`, () => {
    it('runs an enqueued job with its payload', async () => {
      let done!: (to: string) => void;
      const ran = new Promise<string>((resolve) => {
        done = resolve;
      });
      const queue = await make(
        [
          defineJob({
            name: 'greet',
            payload: Type.Object({ to: Type.String() }),
            attempts: 1,
            backoffMs: 1,
            async handle({ to }) {
              done(to);
            },
          }),
        ],
        quiet,
      );
      try {
        await queue.enqueue('greet', { to: 'ann' });
        expect(await ran).toBe('ann');
      } finally {
        await queue.close();
      }
    });

    it('retries a failing job until it succeeds', async () => {
      let calls = 0;
      let done!: () => void;
      const succeeded = new Promise<void>((resolve) => {
        done = resolve;
      });
      const queue = await make(
        [
          defineJob({
            name: 'flaky',
            payload: Type.Object({}),
            attempts: 3,
            backoffMs: 10,
            async handle() {
              calls++;
              if (calls < 3) throw new Error(`failure ${calls}`);
              done();
            },
          }),
        ],
        quiet,
      );
      try {
        await queue.enqueue('flaky', {});
        await succeeded;
        expect(calls).toBe(3);
      } finally {
        await queue.close();
      }
    });

    it('refuses unknown jobs and invalid payloads when they are enqueued', async () => {
      const queue = await make(
        [
          defineJob({
            name: 'typed',
            payload: Type.Object({ n: Type.Integer() }),
            attempts: 1,
            backoffMs: 1,
            async handle() {},
          }),
        ],
        quiet,
      );
      try {
        await expect(queue.enqueue('nope', {})).rejects.toBeInstanceOf(UnknownJobError);
        await expect(queue.enqueue('typed', { n: 'x' })).rejects.toBeInstanceOf(
          InvalidJobPayloadError,
        );
      } finally {
        await queue.close();
      }
    });
  });
}
