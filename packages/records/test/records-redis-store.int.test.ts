import { randomBytes } from 'node:crypto';
import {
  BullMqJobQueue,
  InlineJobQueue,
  type JobDefinition,
  type JobQueue,
} from '@hubstream/cluster';
import { loadTestConfig } from '@hubstream/config';
import { type Database, openDatabase } from '@hubstream/db';
import { PERSIST_RECORDS_JOB, type PersistRecords } from '@hubstream/jobs';
import { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  lockRecords,
  RECORD_TRANSACTION,
  type RecordChange,
  type RecordsLogger,
  RedisRecordStore,
  type RedisRecordStoreOptions,
  recordKeys,
  type SetResult,
  upsertRecords,
} from '../src/index.ts';
import { openRecordsDatabase, persistRecordsJob, type RecordsDatabase } from './fixture.ts';

// What only the Redis record store promises (the RecordStore contract runs
// in records-store.int.test.ts): several nodes share records through Redis,
// and Postgres catches up through the persist-records job. Every "node" is a
// store with its own Redis connection; every test has its own database and
// key prefix.

const url = loadTestConfig().TEST_REDIS_URL;
const errors: object[] = [];
const log: RecordsLogger = {
  warn() {},
  error: (object) => errors.push(object),
};

let testDb: RecordsDatabase;
let db: Database;
let redis: Redis;
let prefix: string;
let appId: string;
const cleanups: (() => Promise<unknown>)[] = [];

beforeEach(async () => {
  errors.length = 0;
  testDb = await openRecordsDatabase('rtredis');
  db = testDb.db;
  redis = new Redis(url);
  prefix = `test:${randomBytes(4).toString('hex')}:`;
  appId = await createApp();
});

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  await redis?.quit();
  await testDb?.close();
});

const createApp = () => testDb.createApp();

/** The persist-records job as the worker defines it, on a connection of its own. */
function persistJob(): JobDefinition {
  const connection = new Redis(url);
  cleanups.push(() => connection.quit());
  return persistRecordsJob({ redis: connection, prisma: db.prisma, keyPrefix: prefix });
}

/** A queue that only remembers what it was given; the test runs the batches itself. */
function recordingQueue() {
  const batches: PersistRecords[] = [];
  const queue: JobQueue = {
    async enqueue(name, payload) {
      expect(name).toBe(PERSIST_RECORDS_JOB);
      batches.push(payload as PersistRecords);
    },
    async close() {},
  };
  return { queue, batches };
}

/** A realtime node's record store: its own Redis connection, the test's prefix. */
function node(jobs: JobQueue, options: Partial<RedisRecordStoreOptions> = {}): RedisRecordStore {
  const store = new RedisRecordStore({
    redis: url,
    sql: db.sql,
    prisma: db.prisma,
    jobs,
    logger: log,
    keyPrefix: prefix,
    ...options,
  });
  cleanups.push(() => store.close());
  return store;
}

/**
 * A Redis connection whose pipelines, from the `from`-th on, wait at a gate
 * before they are sent: the "persisted" marks (markPersisted) of a store or
 * a job held back, to land after other nodes' changes.
 */
function lateMarks(from: number) {
  const connection = new Redis(url);
  cleanups.push(() => connection.quit());
  let release = () => {};
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  let holding = () => {};
  const held = new Promise<void>((resolve) => {
    holding = resolve;
  });
  let count = 0;
  const pipeline = connection.pipeline.bind(connection);
  connection.pipeline = ((...args: Parameters<typeof pipeline>) => {
    const made = pipeline(...args);
    if (++count < from) return made;
    const exec = made.exec.bind(made);
    made.exec = (async () => {
      holding();
      await gate;
      return exec();
    }) as typeof made.exec;
    return made;
  }) as typeof connection.pipeline;
  return { connection, held, release };
}

const durable = async (app: string, name: string) => {
  const row = await db.prisma.record.findUnique({ where: { appId_name: { appId: app, name } } });
  return row ? { version: row.version, data: row.data } : null;
};

const hot = (app: string, name: string) => redis.hgetall(recordKeys.record(prefix, app, name));

describe('RedisRecordStore across nodes', () => {
  it('accepts each version of a contested record exactly once, whichever node writes', async () => {
    const queue = new InlineJobQueue([persistJob()], log);
    cleanups.push(() => queue.close());
    const nodes = [node(queue), node(queue)];
    const created = await Promise.all(
      nodes.map((store, i) => store.set(appId, 'race', -1, { version: 0, data: { by: i } })),
    );
    expect(created.filter((r) => r.ok)).toHaveLength(1);
    for (let version = 1; version <= 30; version++) {
      const results = await Promise.all(
        nodes.map((store, i) =>
          store.set(
            appId,
            'race',
            version - 1,
            { version, data: { by: i, version } },
            // Durable and lazy writes meet at the same compare-and-set.
            { durable: version % 3 === i },
          ),
        ),
      );
      const won = results.findIndex((r) => r.ok);
      expect(results.filter((r) => r.ok)).toHaveLength(1);
      expect(results[1 - won]).toEqual({
        ok: false,
        current: { version, data: { by: won, version } },
      });
    }
    const [one, two] = await Promise.all(nodes.map((store) => store.get(appId, 'race')));
    expect(one?.version).toBe(30);
    expect(two).toEqual(one);
    await Promise.all(nodes.map((store) => store.close()));
    await queue.close();
    expect(await durable(appId, 'race')).toEqual(one);
  });

  it('loses no update when writers on two nodes read, modify and write one counter', async () => {
    const { queue } = recordingQueue();
    const nodes = [node(queue), node(queue)];
    await nodes[0]?.set(appId, 'counter', -1, { version: 0, data: { n: 0 } });
    const increment = async (store: RedisRecordStore) => {
      let current = await store.get(appId, 'counter');
      for (;;) {
        if (current === null) throw new Error('the counter vanished');
        const n = (current.data as { n: number }).n;
        const next = { version: current.version + 1, data: { n: n + 1 } };
        const result: SetResult = await store.set(appId, 'counter', current.version, next);
        if (result.ok) return;
        current = result.current;
      }
    };
    const writer = async (store: RedisRecordStore) => {
      for (let i = 0; i < 15; i++) await increment(store);
    };
    await Promise.all(nodes.flatMap((store) => [1, 2, 3, 4].map(() => writer(store))));
    const final = await redis.hmget(recordKeys.record(prefix, appId, 'counter'), 'v', 'd');
    expect(final).toEqual(['120', JSON.stringify({ n: 120 })]);
  });

  it('persists a durable write before set() resolves, and never one the compare-and-set refused', async () => {
    const { queue } = recordingQueue();
    const [a, b] = [node(queue, { flushDelayMs: 60_000 }), node(queue, { flushDelayMs: 60_000 })];
    expect(await a.set(appId, 'r', -1, { version: 0, data: { by: 'a' } })).toEqual({ ok: true });
    const refused = await b.set(
      appId,
      'r',
      -1,
      { version: 0, data: { by: 'b' } },
      { durable: true },
    );
    expect(refused).toEqual({ ok: false, current: { version: 0, data: { by: 'a' } } });
    // a's write is not persisted yet, and b's refused one was rolled back.
    expect(await durable(appId, 'r')).toBeNull();
    expect(
      await b.set(appId, 'r', 0, { version: 1, data: { by: 'b' } }, { durable: true }),
    ).toEqual({ ok: true });
    expect(await durable(appId, 'r')).toEqual({ version: 1, data: { by: 'b' } });
    // The "persisted" mark follows the acknowledgement, on b's connection.
    await vi.waitFor(async () => expect(await hot(appId, 'r')).toMatchObject({ v: '1', p: '1' }));
    expect(await redis.zcard(recordKeys.dirty(prefix, appId))).toBe(0);
  });

  it('rejects a durable write Postgres cannot take, and changes nothing', async () => {
    const { queue } = recordingQueue();
    const a = node(queue);
    await a.set(appId, 'r', -1, { version: 0, data: { ok: true } }, { durable: true });
    const broken = await openDatabase({ kind: 'postgres', url: testDb.url, poolSize: 1 });
    await broken.close();
    const b = node(queue, { sql: broken.sql });
    await expect(
      b.set(appId, 'r', 0, { version: 1, data: { lost: true } }, { durable: true }),
    ).rejects.toThrow();
    expect(await hot(appId, 'r')).toMatchObject({ v: '0', d: JSON.stringify({ ok: true }) });
    expect(await durable(appId, 'r')).toEqual({ version: 0, data: { ok: true } });
    expect(await a.get(appId, 'r')).toEqual({ version: 0, data: { ok: true } });
  });

  it('writes and deletes durably names and data that need quoting, as they are', async () => {
    const { queue } = recordingQueue();
    const a = node(queue);
    const name = "it's \\'; DROP TABLE records; -- $1 $2";
    const data = {
      quote: "'",
      backslash: '\\',
      escape: '\\u0041',
      dollars: '$1 $$ $4',
      nested: ["\\'"],
    };
    await a.set(appId, name, -1, { version: 0, data }, { durable: true });
    expect(await durable(appId, name)).toEqual({ version: 0, data });
    await a.set(appId, name, 0, { version: 1, data: { again: data } }, { durable: true });
    expect(await durable(appId, name)).toEqual({ version: 1, data: { again: data } });
    await a.delete(appId, name);
    expect(await durable(appId, name)).toBeNull();
    expect(await db.prisma.record.count()).toBe(0);
  });

  it('hands lazy writes to the persist-records job and reports the lag until it ran', async () => {
    const job = persistJob();
    let open = () => {};
    const gate = new Promise<void>((resolve) => {
      open = resolve;
    });
    const started: PersistRecords[] = [];
    const finished: PersistRecords[] = [];
    let batchStarted = () => {};
    const firstBatch = new Promise<void>((resolve) => {
      batchStarted = resolve;
    });
    const held: JobDefinition = {
      ...job,
      async handle(payload: PersistRecords) {
        started.push(payload);
        batchStarted();
        await gate;
        await job.handle(payload);
        finished.push(payload);
      },
    };
    const jobs = new InlineJobQueue([held], log);
    cleanups.push(() => jobs.close());
    const store = node(jobs, { flushDelayMs: 10 });
    for (let version = 0; version < 3; version++) {
      await store.set(appId, 'lazy', version - 1, { version, data: { version } });
    }
    await firstBatch;
    // Every write is queued by now, none persisted: the jobs wait at the gate.
    await vi.waitFor(async () => expect((await store.persistenceLag()).awaitingBatch).toBe(0));
    expect(await durable(appId, 'lazy')).toBeNull();
    const lag = await store.persistenceLag();
    expect(lag.unpersistedRecords).toBe(1);
    expect(lag.oldestUnpersistedMs).toBeGreaterThanOrEqual(0);
    open();
    await jobs.close();
    expect(started.flatMap((batch) => batch.records)).toContainEqual({ appId, name: 'lazy' });
    expect(finished).toEqual(started);
    // Whichever batch ran, it wrote what Redis held then: the last version.
    expect(await durable(appId, 'lazy')).toEqual({ version: 2, data: { version: 2 } });
    expect(await store.persistenceLag()).toEqual({
      unpersistedRecords: 0,
      oldestUnpersistedMs: 0,
      awaitingBatch: 0,
    });
  });

  it('persists lazy writes through BullMQ and its worker', async () => {
    const job = persistJob();
    const done: PersistRecords[] = [];
    let ran = () => {};
    const observed: JobDefinition = {
      ...job,
      async handle(payload: PersistRecords) {
        await job.handle(payload);
        done.push(payload);
        ran();
      },
    };
    const jobs = new BullMqJobQueue({
      url,
      definitions: [observed],
      logger: log,
      process: true,
      prefix: `${prefix}bull`,
    });
    cleanups.push(() => jobs.close());
    await jobs.ready();
    const a = node(jobs);
    const b = node(jobs);
    await a.set(appId, 'one', -1, { version: 0, data: { from: 'a' } });
    await b.set(appId, 'two', -1, { version: 0, data: { from: 'b' } });
    const names = () => new Set(done.flatMap((batch) => batch.records.map((r) => r.name)));
    while (!(names().has('one') && names().has('two'))) {
      await new Promise<void>((resolve) => {
        ran = resolve;
      });
    }
    expect(await durable(appId, 'one')).toEqual({ version: 0, data: { from: 'a' } });
    expect(await durable(appId, 'two')).toEqual({ version: 0, data: { from: 'b' } });
  });

  it('never lowers a version when an old batch is replayed', async () => {
    const { queue, batches } = recordingQueue();
    const job = persistJob();
    const store = node(queue, { flushDelayMs: 0 });
    await store.set(appId, 'r', -1, { version: 0, data: { n: 0 } });
    await store.set(appId, 'r', 0, { version: 1, data: { n: 1 } });
    await vi.waitFor(() => expect(batches.length).toBeGreaterThan(0));
    const old = batches[0] as PersistRecords;
    await job.handle(old);
    expect(await durable(appId, 'r')).toEqual({ version: 1, data: { n: 1 } });
    await store.set(appId, 'r', 1, { version: 2, data: { n: 2 } }, { durable: true });
    await job.handle(old);
    expect(await durable(appId, 'r')).toEqual({ version: 2, data: { n: 2 } });
    // Postgres got further behind the nodes' backs (NOTIFY follows).
    await db.prisma.record.update({
      where: { appId_name: { appId, name: 'r' } },
      data: { version: 9, data: { external: true } },
    });
    await job.handle(old);
    expect(await durable(appId, 'r')).toEqual({ version: 9, data: { external: true } });
    expect(await store.reload(appId, 'r')).toEqual({ version: 9, data: { external: true } });
    await store.set(appId, 'r', 9, { version: 10, data: { n: 10 } });
    await job.handle(old);
    expect(await durable(appId, 'r')).toEqual({ version: 10, data: { n: 10 } });
  });

  it('does not bring a deleted record back when a batch written before the delete runs after it', async () => {
    const { queue, batches } = recordingQueue();
    const job = persistJob();
    const [a, b] = [node(queue, { flushDelayMs: 0 }), node(queue)];
    await a.set(appId, 'doomed', -1, { version: 0, data: {} }, { durable: true });
    await a.set(appId, 'doomed', 0, { version: 1, data: { pending: true } });
    await vi.waitFor(() => expect(batches.length).toBeGreaterThan(0));
    await b.delete(appId, 'doomed');
    await job.handle(batches[0] as PersistRecords);
    expect(await durable(appId, 'doomed')).toBeNull();
    await vi.waitFor(async () => expect(await a.get(appId, 'doomed')).toBeNull());
    // Known absent in Redis, so no node loads it again before it is created anew.
    expect(await hot(appId, 'doomed')).toEqual({ v: '-1', p: '-1' });
    expect(await redis.pttl(recordKeys.record(prefix, appId, 'doomed'))).toBeGreaterThan(0);
    expect(await b.set(appId, 'doomed', -1, { version: 0, data: { again: true } })).toEqual({
      ok: true,
    });
    expect(await redis.pttl(recordKeys.record(prefix, appId, 'doomed'))).toBe(-1);
  });

  it('deletes only once a batch in flight is done, so the batch cannot bring the record back', async () => {
    const { queue } = recordingQueue();
    const store = node(queue, { flushDelayMs: 60_000 });
    await store.set(appId, 'doomed', -1, { version: 0, data: { pending: true } });
    let deleting: Promise<void> | undefined;
    // What the job does, held open between reading Redis and its upsert.
    await db.prisma.$transaction(async (tx) => {
      await lockRecords(tx, [{ appId, name: 'doomed' }], 'shared');
      const [v, d] = await redis.hmget(recordKeys.record(prefix, appId, 'doomed'), 'v', 'd');
      deleting = store.delete(appId, 'doomed');
      await vi.waitFor(async () => {
        const [{ waiting }] = await db.prisma.$queryRaw<[{ waiting: bigint }]>`
          SELECT count(*) AS waiting FROM pg_locks WHERE locktype = 'advisory' AND NOT granted`;
        expect(waiting).toBe(1n);
      });
      await upsertRecords(tx, [{ appId, name: 'doomed', version: Number(v), json: d ?? '' }]);
    }, RECORD_TRANSACTION);
    await deleting;
    expect(await durable(appId, 'doomed')).toBeNull();
    expect(await hot(appId, 'doomed')).toEqual({ v: '-1', p: '-1' });
  });

  it('keeps a durable write\'s late "persisted" mark off the record created again after a delete', async () => {
    const { queue, batches } = recordingQueue();
    const job = persistJob();
    const late = lateMarks(1);
    const [a, b] = [node(queue, { redis: late.connection }), node(queue, { flushDelayMs: 0 })];
    await b.set(appId, 'r', -1, { version: 0, data: { old: 0 } }, { durable: true });
    await b.set(appId, 'r', 0, { version: 1, data: { old: 1 } }, { durable: true });
    const writing = a.set(appId, 'r', 1, { version: 2, data: { old: 2 } }, { durable: true });
    // a's write is committed; its mark waits while b deletes the record and
    // creates it again, up to the same version, without acknowledgements.
    await late.held;
    expect(await durable(appId, 'r')).toEqual({ version: 2, data: { old: 2 } });
    await b.delete(appId, 'r');
    for (let version = 0; version <= 2; version++) {
      expect(await b.set(appId, 'r', version - 1, { version, data: { again: version } })).toEqual({
        ok: true,
      });
    }
    late.release();
    expect(await writing).toEqual({ ok: true });
    await a.close();
    await vi.waitFor(() =>
      expect(batches.flatMap((batch) => batch.records)).toContainEqual({ appId, name: 'r' }),
    );
    for (const batch of batches.splice(0)) await job.handle(batch);
    expect(await durable(appId, 'r')).toEqual({ version: 2, data: { again: 2 } });
    expect(await hot(appId, 'r')).toMatchObject({ v: '2', p: '2' });
    expect(await redis.zcard(recordKeys.dirty(prefix, appId))).toBe(0);
  });

  it('keeps a batch\'s late "persisted" mark off the record created again after a delete', async () => {
    const { queue, batches } = recordingQueue();
    const job = persistJob();
    const [a, b] = [node(queue, { flushDelayMs: 0 }), node(queue, { flushDelayMs: 0 })];
    for (let version = 0; version <= 2; version++) {
      await a.set(appId, 'r', version - 1, { version, data: { old: version } });
    }
    await vi.waitFor(() =>
      expect(batches.flatMap((batch) => batch.records)).toContainEqual({ appId, name: 'r' }),
    );
    // a's batches all name r: one of them runs. The job reads Redis through
    // its first pipeline and marks through its second.
    batches.splice(0);
    const late = lateMarks(2);
    const lateJob = persistRecordsJob({
      redis: late.connection,
      prisma: db.prisma,
      keyPrefix: prefix,
    });
    const persisting = lateJob.handle({ records: [{ appId, name: 'r' }] });
    await late.held;
    expect(await durable(appId, 'r')).toEqual({ version: 2, data: { old: 2 } });
    await b.delete(appId, 'r');
    for (let version = 0; version <= 2; version++) {
      await b.set(appId, 'r', version - 1, { version, data: { again: version } });
    }
    late.release();
    await persisting;
    await vi.waitFor(() =>
      expect(batches.flatMap((batch) => batch.records)).toContainEqual({ appId, name: 'r' }),
    );
    for (const batch of batches.splice(0)) await job.handle(batch);
    expect(await durable(appId, 'r')).toEqual({ version: 2, data: { again: 2 } });
    expect(await redis.zcard(recordKeys.dirty(prefix, appId))).toBe(0);
  });

  it('loads a Redis miss from Postgres, but never over what Redis holds', async () => {
    const { queue } = recordingQueue();
    await db.prisma.record.create({ data: { appId, name: 'cold', version: 4, data: { db: 4 } } });
    const a = node(queue);
    expect(await a.get(appId, 'cold')).toEqual({ version: 4, data: { db: 4 } });
    expect(await hot(appId, 'cold')).toEqual({
      v: '4',
      d: JSON.stringify({ db: 4 }),
      p: '4',
      g: expect.stringMatching(/.+/),
    });
    // Redis moves ahead of Postgres; a node that has not seen the record reads Redis.
    await a.set(appId, 'cold', 4, { version: 5, data: { redis: 5 } });
    expect(await node(queue).get(appId, 'cold')).toEqual({ version: 5, data: { redis: 5 } });

    // A write to a record Redis does not know checks it against Postgres first.
    await db.prisma.record.create({ data: { appId, name: 'cold2', version: 4, data: {} } });
    const b = node(queue);
    expect(await b.set(appId, 'cold2', -1, { version: 0, data: { clobber: true } })).toEqual({
      ok: false,
      current: { version: 4, data: {} },
    });
    const c = node(queue);
    await db.prisma.record.create({ data: { appId, name: 'cold3', version: 2, data: {} } });
    expect(await c.set(appId, 'cold3', 2, { version: 3, data: { n: 3 } })).toEqual({ ok: true });
    expect(await hot(appId, 'cold3')).toMatchObject({ v: '3', p: '2' });
  });

  it('keeps the keys and records of two apps apart', async () => {
    const other = await createApp();
    const { queue } = recordingQueue();
    const [a, b] = [node(queue), node(queue)];
    await a.set(appId, 'shared', -1, { version: 0, data: { app: 'one' } }, { durable: true });
    await b.set(other, 'shared', -1, { version: 0, data: { app: 'two' } });
    await b.set(other, 'shared', 0, { version: 1, data: { app: 'two' } });
    expect(await b.get(appId, 'shared')).toEqual({ version: 0, data: { app: 'one' } });
    expect(await a.get(other, 'shared')).toEqual({ version: 1, data: { app: 'two' } });
    await a.delete(appId, 'shared');
    expect(await b.get(other, 'shared')).toEqual({ version: 1, data: { app: 'two' } });

    const keys = await redis.keys(`${prefix}*`);
    expect(keys.length).toBeGreaterThan(0);
    for (const key of keys) {
      expect(
        key.startsWith(`${prefix}hs:${appId}:`) || key.startsWith(`${prefix}hs:${other}:`),
      ).toBe(true);
    }
    expect(await redis.zrange(recordKeys.dirty(prefix, other), 0, -1)).toEqual(['shared']);
    expect(await redis.exists(recordKeys.dirty(prefix, appId))).toBe(0);
  });

  it('persists what is still waiting for a batch on close, without the queue', async () => {
    const { queue, batches } = recordingQueue();
    const store = node(queue, { flushDelayMs: 60_000 });
    for (let version = 0; version < 5; version++) {
      await store.set(appId, `r/${version % 2}`, version < 2 ? -1 : version - 2, {
        version,
        data: { version },
      });
    }
    expect((await store.persistenceLag()).awaitingBatch).toBe(2);
    await store.close();
    expect(batches).toEqual([]);
    expect(await durable(appId, 'r/0')).toEqual({ version: 4, data: { version: 4 } });
    expect(await durable(appId, 'r/1')).toEqual({ version: 3, data: { version: 3 } });
    expect(await redis.zcard(recordKeys.dirty(prefix, appId))).toBe(0);
  });

  it('drops cached copies when another node changes, deletes or reloads a record', async () => {
    const { queue } = recordingQueue();
    const [a, b] = [node(queue), node(queue)];
    await a.set(appId, 'r', -1, { version: 0, data: { v: 0 } });
    expect(await b.get(appId, 'r')).toEqual({ version: 0, data: { v: 0 } });
    expect(b.peek(appId, 'r')).toEqual({ version: 0, data: { v: 0 } });
    await a.set(appId, 'r', 0, { version: 1, data: { v: 1 } });
    await vi.waitFor(() => expect(b.peek(appId, 'r')).toBeUndefined());
    expect(await b.get(appId, 'r')).toEqual({ version: 1, data: { v: 1 } });
    expect(b.peek(appId, 'r')).toEqual({ version: 1, data: { v: 1 } });

    // A reload may keep the version and change the data: always news.
    await db.prisma.record.upsert({
      where: { appId_name: { appId, name: 'r' } },
      create: { appId, name: 'r', version: 1, data: { edited: true } },
      update: { data: { edited: true } },
    });
    expect(await a.reload(appId, 'r')).toEqual({ version: 1, data: { edited: true } });
    await vi.waitFor(() => expect(b.peek(appId, 'r')).toBeUndefined());
    expect(await b.get(appId, 'r')).toEqual({ version: 1, data: { edited: true } });
    expect(b.peek(appId, 'r')).toEqual({ version: 1, data: { edited: true } });

    await a.delete(appId, 'r');
    await vi.waitFor(() => expect(b.peek(appId, 'r')).toBeUndefined());
    expect(await b.get(appId, 'r')).toBeNull();
    expect(errors).toEqual([]);
  });

  it('tells other nodes what each change changed, in the order Redis accepted them, never the writer', async () => {
    const { queue } = recordingQueue();
    const [a, b] = [node(queue), node(queue, { nodeId: `b-${prefix}` })];
    const other = await createApp();
    const heardByA: RecordChange[] = [];
    const heardByB: RecordChange[] = [];
    a.watch((change) => heardByA.push(change));
    const stop = b.watch((change) => heardByB.push(change));
    await a.set(appId, 'r', -1, { version: 0, data: {} });
    await a.set(appId, 'r', 0, { version: 1, data: { x: 1 } });
    await a.set(
      appId,
      'r',
      1,
      { version: 2, data: { x: 1, y: [2] } },
      { delta: { kind: 'patch', path: 'y', json: '[2]' } },
    );
    await a.set(
      appId,
      'r',
      2,
      { version: 3, data: { y: [2] } },
      { delta: { kind: 'erase', path: 'x' } },
    );
    await a.set(other, 'r', -1, { version: 0, data: { other: true } }, { durable: true });
    await a.reload(appId, 'r');
    await a.delete(appId, 'r');
    const at = { appId, name: 'r' };
    const expected: RecordChange[] = [
      { kind: 'update', ...at, version: 0, json: '{}' },
      { kind: 'update', ...at, version: 1, json: '{"x":1}' },
      { kind: 'patch', ...at, version: 2, path: 'y', json: '[2]' },
      { kind: 'erase', ...at, version: 3, path: 'x' },
      { kind: 'update', appId: other, name: 'r', version: 0, json: '{"other":true}' },
      // Nothing of r reached Postgres (no batch ran): Postgres' word is "absent".
      { kind: 'deleted', ...at },
      { kind: 'deleted', ...at },
    ];
    await vi.waitFor(() => expect(heardByB).toHaveLength(expected.length));
    expect(heardByB).toEqual(expected);
    expect(heardByA).toEqual([]);

    // Cut b's change subscription: once it hears the cluster again, it says it may have missed some.
    stop();
    const missed: RecordChange[] = [];
    b.watch((change) => missed.push(change));
    const list = (await redis.client('LIST')) as string;
    const ids = list
      .split('\n')
      .filter((line) => line.includes(`name=hs-records:b-${prefix} `))
      .map((line) => line.match(/\bid=(\d+)/)?.[1]);
    expect(ids).toHaveLength(1);
    await redis.client('KILL', 'ID', ids[0]!);
    await vi.waitFor(() => expect(missed).toEqual([{ kind: 'missed' }]));
    expect(errors).toEqual([]);
  });
});
