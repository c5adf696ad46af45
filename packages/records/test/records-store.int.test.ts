import { randomBytes } from 'node:crypto';
import { InlineJobQueue } from '@hubstream/cluster';
import { loadTestConfig } from '@hubstream/config';
import { openDatabase, type SqlSession } from '@hubstream/db';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  commitsAsynchronously,
  LocalRecordStore,
  type RecordStore,
  type RecordsLogger,
  RedisRecordStore,
} from '../src/index.ts';
import { openRecordsDatabase, persistRecordsJob, type RecordsDatabase } from './fixture.ts';

// The RecordStore contract, on the real Postgres. Every implementation runs
// it (the Redis store adds its factory to IMPLEMENTATIONS).

type Fixture = {
  store: RecordStore;
  /** Only the local store promises a bounded memory we can observe. */
  size?: () => number;
};
type Options = { flushDelayMs?: number; maxIdleRecords?: number };

const errors: object[] = [];
const log: RecordsLogger = {
  warn() {},
  error: (object) => errors.push(object),
};

let stack: RecordsDatabase;
beforeAll(async () => {
  stack = await openRecordsDatabase('records');
});
afterAll(async () => {
  await stack?.close();
});

const IMPLEMENTATIONS: Record<string, (options: Options) => Fixture> = {
  // As a node on Postgres runs it by default (RECORD_WRITE_DURABILITY=commit).
  local: (options) => {
    const store = new LocalRecordStore(stack.db.sql, log, { ...options, asyncCommit: true });
    return { store, size: () => store.size };
  },
  'local, fsync': (options) => {
    const store = new LocalRecordStore(stack.db.sql, log, options);
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
      sql: stack.db.sql,
      prisma,
      jobs,
      logger: log,
      keyPrefix,
      asyncCommit: true,
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
    const store = new LocalRecordStore(stack.db.sql, log, { flushDelayMs: 60_000 });
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

describe('LocalRecordStore durability (RECORD_WRITE_DURABILITY)', () => {
  /** A session that remembers every statement it runs. */
  const recording = (sql: SqlSession) => {
    const statements: string[] = [];
    const session: SqlSession = {
      query: (text, params, name) => {
        statements.push(text);
        return sql.query(text, params, name);
      },
      exec: (script) => sql.exec(script),
      transaction: (work, options) => sql.transaction(work, options),
    };
    return { session, statements };
  };
  const writesAndDelete = async (store: LocalRecordStore, appId: string) => {
    await store.set(appId, 'acked', -1, { version: 1, data: { n: 1 } }, { durable: true });
    await store.set(appId, 'lazy', -1, { version: 1, data: { n: 1 } });
    await store.delete(appId, 'acked');
    await store.close();
  };
  const asyncCommits = (statements: string[]) =>
    statements.filter((text) => text.includes("set_config('synchronous_commit', 'off', true)"));

  it('commit: the acknowledged write, the flush and the delete each commit without the WAL flush', async () => {
    const appId = await stack.createApp();
    const { session, statements } = recording(stack.db.sql);
    await writesAndDelete(new LocalRecordStore(session, log, { asyncCommit: true }), appId);
    const writes = statements.filter((text) => !text.trimStart().startsWith('SELECT'));
    expect(writes).toHaveLength(3);
    expect(asyncCommits(writes)).toEqual(writes);
    expect(await durable(appId, 'lazy')).toEqual({ version: 1, data: { n: 1 } });
    expect(await durable(appId, 'acked')).toBeNull();
  });

  it('fsync: every commit waits for the WAL as the server says', async () => {
    const appId = await stack.createApp();
    const { session, statements } = recording(stack.db.sql);
    await writesAndDelete(new LocalRecordStore(session, log, { asyncCommit: false }), appId);
    expect(statements.length).toBeGreaterThan(3);
    expect(asyncCommits(statements)).toEqual([]);
  });

  it("turns synchronous_commit off for the write's own transaction only", async () => {
    const appId = await stack.createApp();
    // One connection: the statements after the writes run on the session they ran on.
    const single = await openDatabase({ kind: 'postgres', url: stack.url, poolSize: 1 });
    try {
      await writesAndDelete(new LocalRecordStore(single.sql, log, { asyncCommit: true }), appId);
      expect(await single.sql.query('SHOW synchronous_commit')).toEqual([
        { synchronous_commit: 'on' },
      ]);
    } finally {
      await single.close();
    }
  });

  it('an acknowledged write to an app deleted meanwhile writes nothing and fails nothing', async () => {
    const appId = await stack.createApp();
    const store = new LocalRecordStore(stack.db.sql, log, { asyncCommit: true });
    await store.get(appId, 'gone');
    await stack.db.prisma.app.delete({ where: { id: appId } });
    await expect(
      store.set(appId, 'gone', -1, { version: 1, data: {} }, { durable: true }),
    ).resolves.toEqual({ ok: true });
    expect(await durable(appId, 'gone')).toBeNull();
    await store.close();
  });

  it('never commits asynchronously on the embedded PGlite', () => {
    expect(commitsAsynchronously('commit', 'postgres')).toBe(true);
    expect(commitsAsynchronously('fsync', 'postgres')).toBe(false);
    expect(commitsAsynchronously('commit', 'pglite')).toBe(false);
    expect(commitsAsynchronously('commit', 'pglite-memory')).toBe(false);
  });
});
