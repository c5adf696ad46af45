import { randomBytes } from 'node:crypto';
import { InlineJobQueue } from '@hubstream/cluster';
import { loadTestConfig } from '@hubstream/config';
import { persistRecordsJob } from '@hubstream/worker';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Logger } from '../src/core/types.ts';
import { LocalRecordStore } from '../src/records/local-record-store.ts';
import type { RecordStore } from '../src/records/record-store.ts';
import { RedisRecordStore } from '../src/records/redis-record-store.ts';
import { type Stack, startStack } from './harness.ts';

// The RecordStore contract, on the real Postgres. Every implementation runs
// it (the Redis store adds its factory to IMPLEMENTATIONS).

type Fixture = {
  store: RecordStore;
  /** Only the local store promises a bounded memory we can observe. */
  size?: () => number;
};
type Options = { flushDelayMs?: number; maxIdleRecords?: number };

const errors: object[] = [];
const log: Logger = {
  debug() {},
  info() {},
  warn() {},
  error: (object) => errors.push(object),
};

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.close();
});

const IMPLEMENTATIONS: Record<string, (options: Options) => Fixture> = {
  local: (options) => {
    const store = new LocalRecordStore(stack.db.prisma, log, options);
    return { store, size: () => store.size };
  },
  // Batches run in this process through an inline queue; each store has its
  // own key prefix, and closing it also waits for its jobs.
  redis: (options) => {
    const url = loadTestConfig().TEST_REDIS_URL;
    const keyPrefix = `test:${randomBytes(4).toString('hex')}:`;
    const jobRedis = new Redis(url);
    const prisma = stack.db.prisma;
    const persist = persistRecordsJob({ redis: jobRedis, prisma, keyPrefix });
    const jobs = new InlineJobQueue([persist], log);
    class TestRedisRecordStore extends RedisRecordStore {
      override async close() {
        await super.close();
        await jobs.close();
        await jobRedis.quit();
      }
    }
    const store = new TestRedisRecordStore({
      redis: url,
      prisma,
      jobs,
      logger: log,
      keyPrefix,
      ...(options.flushDelayMs === undefined ? {} : { flushDelayMs: options.flushDelayMs }),
      ...(options.maxIdleRecords === undefined ? {} : { maxCachedRecords: options.maxIdleRecords }),
    });
    return { store, size: () => store.size };
  },
};

const durable = async (appId: string, name: string) => {
  const row = await stack.db.prisma.record.findUnique({ where: { appId_name: { appId, name } } });
  return row ? { version: row.version, data: row.data } : null;
};

for (const [kind, make] of Object.entries(IMPLEMENTATIONS)) {
  describe(`RecordStore contract: ${kind}`, () => {
    it('reads missing records as null and compare-and-sets on the version', async () => {
      const appId = await stack.createApp();
      const { store } = make({});
      expect(await store.get(appId, 'r')).toBeNull();
      expect(await store.set(appId, 'r', -1, { version: 0, data: {} })).toEqual({ ok: true });
      expect(await store.set(appId, 'r', -1, { version: 0, data: { again: 1 } })).toEqual({
        ok: false,
        current: { version: 0, data: {} },
      });
      expect(await store.set(appId, 'r', 0, { version: 1, data: { a: 1 } })).toEqual({ ok: true });
      expect(store.peek(appId, 'r')).toEqual({ version: 1, data: { a: 1 } });
      await store.close();
    });

    it('serialises concurrent writes: of two on the same version exactly one wins', async () => {
      const appId = await stack.createApp();
      const { store } = make({});
      await store.set(appId, 'race', -1, { version: 0, data: {} });
      const results = await Promise.all(
        ['a', 'b', 'c'].map((by) => store.set(appId, 'race', 0, { version: 1, data: { by } })),
      );
      expect(results.filter((r) => r.ok)).toHaveLength(1);
      expect((await store.get(appId, 'race'))?.version).toBe(1);
      await store.close();
    });

    it('a durable write is in Postgres when it resolves; others are flushed by close()', async () => {
      const appId = await stack.createApp();
      const { store } = make({ flushDelayMs: 60_000 });
      await store.set(appId, 'd', -1, { version: 1, data: { durable: true } }, { durable: true });
      expect(await durable(appId, 'd')).toEqual({ version: 1, data: { durable: true } });
      await store.set(appId, 'lazy', -1, { version: 0, data: {} });
      await store.set(appId, 'lazy', 0, { version: 1, data: { n: 1 } });
      await store.set(appId, 'lazy', 1, { version: 2, data: { n: 2 } });
      expect(await durable(appId, 'lazy')).toBeNull();
      await store.close();
      expect(await durable(appId, 'lazy')).toEqual({ version: 2, data: { n: 2 } });
    });

    it('never lowers the stored version: late or replayed writes are harmless', async () => {
      const appId = await stack.createApp();
      const { store } = make({});
      await store.set(appId, 'v', -1, { version: 1, data: { mine: 1 } }, { durable: true });
      // Another writer got further in the meantime.
      await stack.db.prisma.record.update({
        where: { appId_name: { appId, name: 'v' } },
        data: { version: 9, data: { newer: true } },
      });
      await store.set(appId, 'v', 1, { version: 2, data: { mine: 2 } }, { durable: true });
      expect(await durable(appId, 'v')).toEqual({ version: 9, data: { newer: true } });
      // reload() takes the database's word for it.
      expect(await store.reload(appId, 'v')).toEqual({ version: 9, data: { newer: true } });
      expect(store.peek(appId, 'v')).toEqual({ version: 9, data: { newer: true } });
      await store.close();
    });

    it('delete removes the durable copy, also right after writes not yet flushed', async () => {
      const appId = await stack.createApp();
      const { store } = make({ flushDelayMs: 0 });
      await store.set(appId, 'x', -1, { version: 1, data: {} }, { durable: true });
      await store.set(appId, 'x', 1, { version: 2, data: { pending: true } });
      await store.delete(appId, 'x');
      expect(await store.get(appId, 'x')).toBeNull();
      await store.close();
      expect(await durable(appId, 'x')).toBeNull();
      // Deleting what does not exist is fine.
      const again = make({});
      await again.store.delete(appId, 'never');
      await again.store.close();
    });

    it('loads misses from Postgres and keeps apps apart', async () => {
      const one = await stack.createApp();
      const two = await stack.createApp();
      await stack.db.prisma.record.create({
        data: { appId: one, name: 'shared', version: 4, data: { app: 'one' } },
      });
      const { store } = make({});
      expect(store.peek(one, 'shared')).toBeUndefined();
      expect(await store.get(one, 'shared')).toEqual({ version: 4, data: { app: 'one' } });
      expect(await store.get(two, 'shared')).toBeNull();
      await store.set(two, 'shared', -1, { version: 1, data: { app: 'two' } }, { durable: true });
      expect(await store.get(one, 'shared')).toEqual({ version: 4, data: { app: 'one' } });
      expect(await durable(two, 'shared')).toEqual({ version: 1, data: { app: 'two' } });
      await store.close();
    });

    it('drops writes for an app deleted meanwhile instead of retrying forever', async () => {
      const appId = await stack.createApp();
      const { store } = make({ flushDelayMs: 60_000 });
      await store.set(appId, 'orphan', -1, { version: 1, data: {} });
      await stack.db.prisma.app.delete({ where: { id: appId } });
      const before = errors.length;
      await store.close();
      expect(errors.length).toBe(before);
    });

    it('keeps held records in memory and bounds the rest', async () => {
      const appId = await stack.createApp();
      const { store, size } = make({ maxIdleRecords: 2 });
      if (!size) return;
      store.hold(appId, 'held');
      await store.set(appId, 'held', -1, { version: 1, data: {} }, { durable: true });
      for (let i = 0; i < 10; i++) await store.get(appId, `cold/${i}`);
      expect(size()).toBeLessThanOrEqual(3);
      expect(store.peek(appId, 'held')).toEqual({ version: 1, data: {} });
      expect(store.peek(appId, 'cold/0')).toBeUndefined();
      expect(store.peek(appId, 'cold/9')).toBeNull();
      // Released, it becomes evictable like the rest (it is persisted).
      store.release(appId, 'held');
      for (let i = 10; i < 13; i++) await store.get(appId, `cold/${i}`);
      expect(store.peek(appId, 'held')).toBeUndefined();
      expect(await store.get(appId, 'held')).toEqual({ version: 1, data: {} });
      await store.close();
    });
  });
}

describe('LocalRecordStore flushes', () => {
  it('persists what gathered together, and a record Postgres refuses holds no other back', async () => {
    const appId = await stack.createApp();
    const store = new LocalRecordStore(stack.db.prisma, log, { flushDelayMs: 60_000 });
    for (let i = 0; i < 30; i++)
      await store.set(appId, `many/${i}`, -1, { version: 1, data: { i } });
    // Past a Postgres int: the one statement for all of them fails on it.
    await store.set(appId, 'poison', -1, { version: 2 ** 31, data: {} });
    const before = errors.length;
    await store.close();
    for (let i = 0; i < 30; i++)
      expect(await durable(appId, `many/${i}`)).toEqual({ version: 1, data: { i } });
    expect(await durable(appId, 'poison')).toBeNull();
    expect(errors.length).toBeGreaterThan(before);
  });
});
