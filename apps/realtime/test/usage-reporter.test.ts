import { InlineJobQueue, type JobDefinition, type JobQueue } from '@hubstream/cluster';
import { JOB_CONTRACTS, jobHandler, USAGE_ROLLUP_JOB } from '@hubstream/jobs';
import { describe, expect, it } from 'vitest';
import {
  MAX_UNSENT_REPORTS,
  type UsageCounters,
  type UsageReport,
  UsageReporter,
  type UsageSource,
} from '../src/usage-reporter.ts';

// The node side of usage: counters read and reset per report, the peak of
// open connections, retries of reports the queue refused, and payloads the
// worker's job accepts.

const silent = { warn() {}, error() {} };

class FakeRuntime implements UsageSource {
  readonly connections = { size: 0 };
  constructor(
    readonly appId: string,
    readonly usage: UsageCounters = { messagesIn: 0, denied: 0, messagesOut: 0, rateLimited: 0 },
  ) {}
  open(count: number) {
    (this.connections as { size: number }).size = count;
  }
}

/** A queue that keeps what it is given, or refuses while `down`. */
class RecordingQueue implements JobQueue {
  readonly jobs: { name: string; payload: UsageReport }[] = [];
  down = false;
  async enqueue(name: string, payload: unknown) {
    if (this.down) throw new Error('Redis is away');
    this.jobs.push({ name, payload: payload as UsageReport });
  }
  async close() {}
}

function setup(runtimes: FakeRuntime[], start = Date.parse('2026-03-01T10:15:00.000Z')) {
  let now = start;
  const queue = new RecordingQueue();
  const reporter = new UsageReporter({
    nodeId: 'node-1',
    runtimes: async () => runtimes,
    jobs: queue,
    logger: silent,
    now: () => now,
  });
  return {
    queue,
    reporter,
    advance(ms: number) {
      now += ms;
    },
  };
}

describe('UsageReporter', () => {
  it("reports each active app's counters for the minute its interval began, then resets them", async () => {
    const chat = new FakeRuntime('chatapp00001');
    const idle = new FakeRuntime('idleapp00001');
    const { queue, reporter, advance } = setup([chat, idle]);
    chat.usage.messagesIn = 12;
    chat.usage.denied = 2;
    advance(59_000);
    await reporter.report();
    expect(queue.jobs).toEqual([
      {
        name: USAGE_ROLLUP_JOB,
        payload: {
          reportId: expect.any(String),
          nodeId: 'node-1',
          appId: 'chatapp00001',
          minute: '2026-03-01T10:15:00.000Z',
          peakConnections: 0,
          messagesIn: 12,
          messagesOut: 0,
          denied: 2,
          rateLimited: 0,
        },
      },
    ]);
    expect(chat.usage).toEqual({ messagesIn: 0, denied: 0, messagesOut: 0, rateLimited: 0 });

    chat.usage.messagesIn = 1;
    advance(2_000);
    await reporter.report();
    expect(queue.jobs[1]?.payload).toMatchObject({
      minute: '2026-03-01T10:15:00.000Z', // the interval began at 10:15:59
      messagesIn: 1,
    });
    expect(queue.jobs[1]?.payload.reportId).not.toBe(queue.jobs[0]?.payload.reportId);
    advance(60_000);
    await reporter.report();
    expect(queue.jobs).toHaveLength(2); // nothing happened: nothing reported
  });

  it('reports the highest number of open connections it saw, and carries open ones over', async () => {
    const app = new FakeRuntime('peakapp00001');
    const { queue, reporter } = setup([app]);
    app.open(3);
    await reporter.sample();
    app.open(1);
    await reporter.sample();
    await reporter.report();
    expect(queue.jobs[0]?.payload.peakConnections).toBe(3);
    await reporter.report();
    expect(queue.jobs[1]?.payload.peakConnections).toBe(1);
    app.open(0);
    await reporter.report();
    expect(queue.jobs[2]?.payload.peakConnections).toBe(1); // open when the interval began
    await reporter.report();
    expect(queue.jobs).toHaveLength(3);
  });

  it('reports and resets the counters the runtime keeps beyond the required ones', async () => {
    const usage = { messagesIn: 1, denied: 0, messagesOut: 5, rateLimited: 2 };
    const app = new FakeRuntime('moreapp00001', usage);
    const { queue, reporter } = setup([app]);
    await reporter.report();
    expect(queue.jobs[0]?.payload).toMatchObject({ messagesOut: 5, rateLimited: 2 });
    expect(usage).toEqual({ messagesIn: 0, denied: 0, messagesOut: 0, rateLimited: 0 });
  });

  it('reports an app the registry dropped (deleted, node closing) once more, then forgets it', async () => {
    const app = new FakeRuntime('goneapp00001');
    const runtimes = [app];
    const { queue, reporter } = setup(runtimes);
    app.open(2);
    await reporter.sample();
    app.usage.messagesIn = 4;
    runtimes.pop();
    await reporter.report();
    expect(queue.jobs[0]?.payload).toMatchObject({ appId: 'goneapp00001', messagesIn: 4 });
    app.usage.messagesIn = 1;
    await reporter.report();
    expect(queue.jobs).toHaveLength(1);
  });

  it('keeps reports the queue refused and sends them, same id, with the next report', async () => {
    const app = new FakeRuntime('waitapp00001');
    const { queue, reporter, advance } = setup([app]);
    queue.down = true;
    app.usage.messagesIn = 3;
    advance(60_000);
    await reporter.report();
    expect(reporter.unsent).toBe(1);
    queue.down = false;
    app.usage.messagesIn = 2;
    advance(60_000);
    await reporter.report();
    expect(reporter.unsent).toBe(0);
    expect(queue.jobs.map((j) => [j.payload.minute, j.payload.messagesIn])).toEqual([
      ['2026-03-01T10:15:00.000Z', 3],
      ['2026-03-01T10:16:00.000Z', 2],
    ]);
    const [first] = queue.jobs;
    expect(first?.payload.reportId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('keeps a bounded number of reports while the queue is away, dropping the oldest', async () => {
    expect(MAX_UNSENT_REPORTS).toBe(10_000);
    const app = new FakeRuntime('lostapp00001');
    const queue = new RecordingQueue();
    const errors: object[] = [];
    const reporter = new UsageReporter({
      nodeId: 'node-1',
      runtimes: async () => [app],
      jobs: queue,
      logger: { warn() {}, error: (object) => errors.push(object) },
      maxUnsent: 3,
    });
    queue.down = true;
    for (let round = 1; round <= 5; round++) {
      app.usage.messagesIn = round;
      await reporter.report();
    }
    expect(reporter.unsent).toBe(3);
    expect(errors).toEqual([{ dropped: 1 }, { dropped: 1 }]);
    queue.down = false;
    await reporter.report();
    expect(queue.jobs.map((j) => j.payload.messagesIn)).toEqual([3, 4, 5]);
  });

  it('reports what is left when it stops', async () => {
    const app = new FakeRuntime('stopapp00001');
    const { queue, reporter } = setup([app]);
    reporter.start();
    app.usage.messagesIn = 9;
    await reporter.stop();
    expect(queue.jobs.map((j) => j.payload.messagesIn)).toEqual([9]);
  });

  it('reports on its timer', async () => {
    const app = new FakeRuntime('tickapp00001');
    let reported!: (payload: unknown) => void;
    const first = new Promise((resolve) => {
      reported = resolve;
    });
    const reporter = new UsageReporter({
      nodeId: 'node-1',
      runtimes: async () => [app],
      jobs: {
        async enqueue(_name, payload) {
          reported(payload);
        },
        async close() {},
      },
      intervalMs: 20,
      logger: silent,
    });
    app.usage.messagesIn = 1;
    reporter.start();
    expect(await first).toMatchObject({ appId: 'tickapp00001', messagesIn: 1 });
    await reporter.stop();
  });

  it("sends payloads the worker's usage-rollup job accepts", async () => {
    const handled: unknown[] = [];
    // The contracts the worker's handlers run (@hubstream/jobs): enqueue checks the payload.
    const definitions = JOB_CONTRACTS.map(
      (contract): JobDefinition =>
        jobHandler(contract, async (payload) => {
          handled.push(payload);
        }),
    );
    const queue = new InlineJobQueue(definitions, silent);
    const app = new FakeRuntime('realapp00001');
    const reporter = new UsageReporter({
      nodeId: `realtime-host-${process.pid}`,
      runtimes: async () => [app],
      jobs: queue,
      logger: {
        warn(object) {
          throw new Error(`unexpected warning: ${JSON.stringify(object)}`);
        },
        error(object) {
          throw new Error(`unexpected error: ${JSON.stringify(object)}`);
        },
      },
    });
    app.open(2);
    app.usage.messagesIn = 5;
    await reporter.report();
    await queue.close();
    expect(handled).toEqual([expect.objectContaining({ appId: 'realapp00001', messagesIn: 5 })]);
  });
});
