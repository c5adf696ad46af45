import Type from 'typebox';
import { describe, expect, it } from 'vitest';
import { defineJob, InlineJobQueue } from '../src/index.ts';

const quiet = { warn() {}, error() {} };

describe('InlineJobQueue', () => {
  it('runs a job in the background and close() waits for it', async () => {
    const done: string[] = [];
    const job = defineJob({
      name: 'greet',
      payload: Type.Object({ to: Type.String() }),
      attempts: 1,
      backoffMs: 1,
      async handle({ to }) {
        await new Promise((r) => setTimeout(r, 5));
        done.push(to);
      },
    });
    const queue = new InlineJobQueue([job], quiet);
    await queue.enqueue('greet', { to: 'ann' });
    expect(done).toEqual([]);
    await queue.close();
    expect(done).toEqual(['ann']);
    await expect(queue.enqueue('greet', { to: 'bob' })).rejects.toThrow(/closed/);
  });

  it('gives up after the last attempt, and says so once', async () => {
    let calls = 0;
    const failures: string[] = [];
    const flaky = defineJob({
      name: 'flaky',
      payload: Type.Object({ failTimes: Type.Integer() }),
      attempts: 3,
      backoffMs: 1,
      async handle({ failTimes }) {
        calls++;
        if (calls <= failTimes) throw new Error(`failure ${calls}`);
      },
    });
    const again = new InlineJobQueue([flaky], {
      warn: () => {},
      error: (_o, message) => failures.push(message),
    });
    await again.enqueue('flaky', { failTimes: 5 });
    await again.close();
    expect(calls).toBe(3);
    expect(failures).toEqual(['job failed for good']);
  });
});
