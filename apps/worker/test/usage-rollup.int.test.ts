import { randomBytes, randomUUID } from 'node:crypto';
import {
  BullMqJobQueue,
  InlineJobQueue,
  InvalidJobPayloadError,
  type JobDefinition,
} from '@hubstream/cluster';
import { loadConfig, loadTestConfig } from '@hubstream/config';
import { type Database, openDatabase } from '@hubstream/db';
import { createTestDatabase, type TestDatabase } from '@hubstream/db/testing';
import { USAGE_ROLLUP_JOB, type UsageRollup } from '@hubstream/jobs';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createJobDefinitions } from '../src/index.ts';
import {
  type LedgerEntry,
  MemoryUsageLedger,
  RedisUsageLedger,
  type UsageLedger,
  usageRollupJob,
} from '../src/jobs/usage-rollup.job.ts';

// The usage roll-up against a real Postgres and Redis: reports of several
// nodes add up, and a report that arrives twice (a retried job) counts once,
// with the Redis ledger (cluster) and the in-memory one (single process).

const { TEST_REDIS_URL } = loadTestConfig();
const silent = { info() {}, warn() {}, error() {} };

let testDb: TestDatabase;
let db: Database;
let redis: Redis;
const keyPrefix = `test:usage:${randomBytes(4).toString('hex')}:`;
let accountId: string;

beforeAll(async () => {
  testDb = await createTestDatabase('usage');
  db = await openDatabase({ kind: 'postgres', url: testDb.url, poolSize: 5 });
  await db.migrate();
  redis = new Redis(TEST_REDIS_URL);
  const account = await db.prisma.account.create({
    data: { email: 'usage@example.com', passwordHash: 'x' },
  });
  accountId = account.id;
});

afterAll(async () => {
  if (redis) {
    const keys = await redis.keys(`${keyPrefix}*`);
    if (keys.length > 0) await redis.unlink(...keys);
    await redis.quit();
  }
  await db?.close();
  await testDb?.drop();
});

async function newApp(): Promise<string> {
  const id = randomBytes(6).toString('hex');
  await db.prisma.app.create({ data: { id, accountId, name: 'usage' } });
  return id;
}

const MINUTE = '2026-03-01T10:15:00.000Z';

function report(appId: string, nodeId: string, counts: Partial<UsageRollup> = {}): UsageRollup {
  return {
    reportId: randomUUID(),
    nodeId,
    appId,
    minute: MINUTE,
    peakConnections: 0,
    messagesIn: 0,
    messagesOut: 0,
    denied: 0,
    rateLimited: 0,
    ...counts,
  };
}

async function sample(appId: string, minute = MINUTE) {
  const row = await db.prisma.usageSample.findUnique({
    where: { appId_minute: { appId, minute: new Date(minute) } },
  });
  if (!row) return null;
  return {
    peakConnections: row.peakConnections,
    messagesIn: Number(row.messagesIn),
    messagesOut: Number(row.messagesOut),
    denied: Number(row.denied),
    rateLimited: Number(row.rateLimited),
  };
}

const ledgers: [string, () => UsageLedger][] = [
  ['the Redis ledger', () => new RedisUsageLedger({ redis, keyPrefix })],
  ['the in-memory ledger', () => new MemoryUsageLedger()],
];

describe.each(ledgers)('usage-rollup with %s', (_name, makeLedger) => {
  const jobWith = (ledger: UsageLedger) => usageRollupJob({ prisma: db.prisma, ledger });

  it('adds up the reports of several nodes and counts a retried report once', async () => {
    const appId = await newApp();
    const job = jobWith(makeLedger());
    const fromA = report(appId, 'node-a', { peakConnections: 3, messagesIn: 10, denied: 1 });
    const fromB = report(appId, 'node-b', { peakConnections: 2, messagesIn: 5, messagesOut: 7 });
    await job.handle(fromA);
    await job.handle(fromB);
    await job.handle(fromA); // the retry of a job whose first run did all its work
    await job.handle(fromB);
    expect(await sample(appId)).toEqual({
      peakConnections: 5,
      messagesIn: 15,
      messagesOut: 7,
      denied: 1,
      rateLimited: 0,
    });
  });

  it("adds a node's counters of one minute but keeps its highest peak, not their sum", async () => {
    const appId = await newApp();
    const job = jobWith(makeLedger());
    await job.handle(report(appId, 'node-a', { peakConnections: 3, messagesIn: 10 }));
    await job.handle(report(appId, 'node-a', { peakConnections: 4, messagesIn: 4 }));
    await job.handle(report(appId, 'node-b', { peakConnections: 1, rateLimited: 2 }));
    expect(await sample(appId)).toMatchObject({
      peakConnections: 5,
      messagesIn: 14,
      rateLimited: 2,
    });
  });

  it('keeps apps and minutes apart', async () => {
    const first = await newApp();
    const second = await newApp();
    const job = jobWith(makeLedger());
    const next = '2026-03-01T10:16:00.000Z';
    await job.handle(report(first, 'node-a', { messagesIn: 1 }));
    await job.handle({ ...report(first, 'node-a', { messagesIn: 2 }), minute: next });
    await job.handle(report(second, 'node-a', { messagesIn: 3 }));
    expect((await sample(first))?.messagesIn).toBe(1);
    expect((await sample(first, next))?.messagesIn).toBe(2);
    expect((await sample(second))?.messagesIn).toBe(3);
  });

  it('never lowers a sample when a job that read the ledger earlier writes last', async () => {
    const appId = await newApp();
    const ledger = makeLedger();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let recorded!: () => void;
    const hasRecorded = new Promise<void>((resolve) => {
      recorded = resolve;
    });
    // Files its report at once, but hands back the ledger it read only later.
    const slowLedger: UsageLedger = {
      async record(r): Promise<LedgerEntry[]> {
        const entries = await ledger.record(r);
        recorded();
        await gate;
        return entries;
      },
      forget: (id, minute) => ledger.forget(id, minute),
    };
    const slow = jobWith(slowLedger).handle(report(appId, 'node-a', { messagesIn: 10 }));
    await hasRecorded;
    await jobWith(ledger).handle(report(appId, 'node-b', { messagesIn: 5 }));
    expect((await sample(appId))?.messagesIn).toBe(15);
    release();
    await slow;
    expect((await sample(appId))?.messagesIn).toBe(15);
  });

  it('drops the usage of a deleted app without failing, and its ledger with it', async () => {
    const appId = await newApp();
    await db.prisma.app.delete({ where: { id: appId } });
    const ledger = makeLedger();
    await jobWith(ledger).handle(report(appId, 'node-a', { messagesIn: 1 }));
    expect(await sample(appId)).toBeNull();
    expect(await redis.keys(`${keyPrefix}hs:${appId}:*`)).toEqual([]);
    // Nothing of the earlier report is left to add to a later one.
    const again = await ledger.record(report(appId, 'node-b', { messagesIn: 2 }));
    expect(again.map((entry) => entry.nodeId)).toEqual(['node-b']);
  });
});

describe('usage-rollup through the queues', () => {
  it('counts a job once when BullMQ runs it again after a lost acknowledgement', async () => {
    const appId = await newApp();
    const definitions = createJobDefinitions({
      config: loadConfig({ REDIS_KEY_PREFIX: keyPrefix }),
      logger: silent,
      prisma: db.prisma,
      redis,
    });
    const rollup = definitions.find((d) => d.name === USAGE_ROLLUP_JOB)!;
    let runs = 0;
    let ranTwice!: () => void;
    const done = new Promise<void>((resolve) => {
      ranTwice = resolve;
    });
    // The first run does all its work, then fails as if the worker died
    // before BullMQ heard it had finished.
    const flaky: JobDefinition = {
      ...rollup,
      backoffMs: 10,
      async handle(payload) {
        await rollup.handle(payload);
        runs++;
        if (runs === 1) throw new Error('lost acknowledgement');
        ranTwice();
      },
    };
    const queue = new BullMqJobQueue({
      url: TEST_REDIS_URL,
      definitions: [flaky],
      logger: silent,
      process: true,
      prefix: `${keyPrefix}hs:bull`,
    });
    try {
      await queue.ready();
      await queue.enqueue(USAGE_ROLLUP_JOB, report(appId, 'node-a', { messagesIn: 7 }));
      await done;
    } finally {
      await queue.close();
    }
    expect(runs).toBe(2);
    expect((await sample(appId))?.messagesIn).toBe(7);
  });

  it('refuses reports with a malformed app id or a minute that does not start a minute', async () => {
    const queue = new InlineJobQueue(
      createJobDefinitions({ config: loadConfig({}), logger: silent, prisma: db.prisma }),
      silent,
    );
    const good = report('abcdef123456', 'node-a');
    await expect(queue.enqueue(USAGE_ROLLUP_JOB, { ...good, appId: 'abc*' })).rejects.toThrow(
      InvalidJobPayloadError,
    );
    await expect(
      queue.enqueue(USAGE_ROLLUP_JOB, { ...good, minute: '2026-03-01T10:15:30.000Z' }),
    ).rejects.toThrow(InvalidJobPayloadError);
    await expect(queue.enqueue(USAGE_ROLLUP_JOB, { ...good, messagesIn: -1 })).rejects.toThrow(
      InvalidJobPayloadError,
    );
    await queue.close();
  });
});
