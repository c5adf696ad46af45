import { randomBytes } from 'node:crypto';
import { InlineJobQueue, InvalidJobPayloadError, type JobDefinition } from '@hubstream/cluster';
import { loadConfig, loadTestConfig } from '@hubstream/config';
import { type Database, openDatabase } from '@hubstream/db';
import { createTestDatabase, type TestDatabase } from '@hubstream/db/testing';
import { PERSIST_RECORDS_JOB } from '@hubstream/jobs';
import { recordKeys } from '@hubstream/records';
import { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createJobDefinitions } from '../src/index.ts';

// The persist-records job on the real Postgres and Redis: it writes what
// Redis holds when it runs, never lowers a version, and is safe to repeat.
// Redis is written here by hand in the layout the realtime store uses.

const logger = { info() {}, warn() {}, error() {} };

let testDb: TestDatabase;
let db: Database;
let redis: Redis;
let prefix: string;
let appId: string;

beforeEach(async () => {
  testDb = await createTestDatabase('persist');
  db = await openDatabase({ kind: 'postgres', url: testDb.url, poolSize: 10 });
  await db.migrate();
  redis = new Redis(loadTestConfig().TEST_REDIS_URL);
  prefix = `test:${randomBytes(4).toString('hex')}:`;
  appId = await createApp();
});

afterEach(async () => {
  await redis?.quit();
  await db?.close();
  await testDb?.drop();
});

async function createApp(): Promise<string> {
  const id = randomBytes(6).toString('hex');
  const account = await db.prisma.account.create({
    data: { email: `${id}@example.com`, passwordHash: 'x' },
  });
  await db.prisma.app.create({ data: { id, accountId: account.id, name: 'test app' } });
  return id;
}

/** What a realtime node leaves after a write it has not persisted. */
async function written(app: string, name: string, version: number, data: unknown) {
  await redis.hset(recordKeys.record(prefix, app, name), { v: version, d: JSON.stringify(data) });
  await redis.zadd(recordKeys.dirty(prefix, app), 'NX', Date.now(), name);
}

const durable = async (app: string, name: string) => {
  const row = await db.prisma.record.findUnique({ where: { appId_name: { appId: app, name } } });
  return row ? { version: row.version, data: row.data } : null;
};

function persistJob(options: { redis?: Redis; withDatabase?: boolean } = {}): JobDefinition {
  const config = loadConfig({ REDIS_KEY_PREFIX: prefix });
  const definitions = createJobDefinitions({
    config,
    logger,
    ...(options.withDatabase === false ? {} : { prisma: db.prisma }),
    ...(options.redis ? { redis: options.redis } : {}),
  });
  const job = definitions.find((d) => d.name === PERSIST_RECORDS_JOB);
  if (!job) throw new Error(`${PERSIST_RECORDS_JOB} is not defined`);
  return job;
}

describe('persist-records', () => {
  it('is defined in every process but runs only with Redis and the database', async () => {
    await written(appId, 'r', 1, { a: 1 });
    const payload = { records: [{ appId, name: 'r' }] };
    await expect(persistJob().handle(payload)).rejects.toThrow(/needs Redis and the database/);
    await expect(persistJob({ redis, withDatabase: false }).handle(payload)).rejects.toThrow(
      /needs Redis and the database/,
    );
    expect(await durable(appId, 'r')).toBeNull();
  });

  it('writes what Redis holds when it runs, through the queue, and marks it clean', async () => {
    const queue = new InlineJobQueue([persistJob({ redis })], logger);
    await written(appId, 'r', 1, { n: 1 });
    // Written again before the batch runs: the batch persists the newer one.
    await written(appId, 'r', 2, { n: 2 });
    await queue.enqueue(PERSIST_RECORDS_JOB, { records: [{ appId, name: 'r' }] });
    await queue.close();
    expect(await durable(appId, 'r')).toEqual({ version: 2, data: { n: 2 } });
    expect(await redis.hget(recordKeys.record(prefix, appId, 'r'), 'p')).toBe('2');
    expect(await redis.zcard(recordKeys.dirty(prefix, appId))).toBe(0);
  });

  it('never lowers a version: replays and late batches are harmless', async () => {
    const job = persistJob({ redis });
    const payload = { records: [{ appId, name: 'r' }] };
    await written(appId, 'r', 3, { mine: 3 });
    await job.handle(payload);
    await job.handle(payload);
    expect(await durable(appId, 'r')).toEqual({ version: 3, data: { mine: 3 } });
    // Postgres got further another way; this node's copy is older.
    await db.prisma.record.update({
      where: { appId_name: { appId, name: 'r' } },
      data: { version: 9, data: { newer: true } },
    });
    await written(appId, 'r', 4, { mine: 4 });
    await job.handle(payload);
    expect(await durable(appId, 'r')).toEqual({ version: 9, data: { newer: true } });
    // Still marked persisted: Postgres holds version 4 or a newer one.
    expect(await redis.zcard(recordKeys.dirty(prefix, appId))).toBe(0);
  });

  it('skips records Redis does not know, knows to be absent, or knows to be persisted', async () => {
    const job = persistJob({ redis });
    await redis.hset(recordKeys.record(prefix, appId, 'absent'), { v: -1, p: -1 });
    await redis.hset(recordKeys.record(prefix, appId, 'clean'), {
      v: 5,
      d: JSON.stringify({ clean: true }),
      p: 5,
    });
    await job.handle({
      records: [
        { appId, name: 'absent' },
        { appId, name: 'unknown' },
        { appId, name: 'clean' },
      ],
    });
    expect(await db.prisma.record.count()).toBe(0);
  });

  it('keeps apps apart and skips records of apps deleted meanwhile', async () => {
    const other = await createApp();
    const gone = await createApp();
    const job = persistJob({ redis });
    await written(appId, 'shared', 1, { app: 'one' });
    await written(other, 'shared', 7, { app: 'two' });
    await written(gone, 'shared', 1, {});
    await db.prisma.app.delete({ where: { id: gone } });
    await job.handle({
      records: [
        { appId: gone, name: 'shared' },
        { appId: other, name: 'shared' },
        { appId, name: 'shared' },
      ],
    });
    expect(await durable(appId, 'shared')).toEqual({ version: 1, data: { app: 'one' } });
    expect(await durable(other, 'shared')).toEqual({ version: 7, data: { app: 'two' } });
    expect(await durable(gone, 'shared')).toBeNull();
  });

  it('runs overlapping batches at once, in any order, without deadlocks', async () => {
    const job = persistJob({ redis });
    const names = Array.from({ length: 500 }, (_, i) => `r/${String(i).padStart(3, '0')}`);
    const pipeline = redis.pipeline();
    for (const [i, name] of names.entries()) {
      pipeline.hset(recordKeys.record(prefix, appId, name), { v: i + 1, d: JSON.stringify({ i }) });
    }
    await pipeline.exec();
    const batches = Array.from({ length: 8 }, (_, b) => {
      const batch = names.map((name) => ({ appId, name }));
      return b % 2 === 0 ? batch : batch.reverse();
    });
    await Promise.all(batches.map((records) => job.handle({ records })));
    const rows = await db.prisma.record.findMany({ orderBy: { version: 'asc' } });
    expect(rows.map((r) => [r.name, r.version])).toEqual(names.map((name, i) => [name, i + 1]));
  });

  it('refuses payloads that do not match the schema', async () => {
    const queue = new InlineJobQueue([persistJob({ redis })], logger);
    for (const payload of [
      { records: [] },
      { records: [{ appId, name: '' }] },
      { records: [{ appId: 'a:b:c:d', name: 'r' }] },
      { records: [{ appId: 'hs*all', name: 'r' }] },
      { records: [{ appId, name: 'r', version: 3 }] },
      { records: Array.from({ length: 501 }, (_, i) => ({ appId, name: `r${i}` })) },
    ]) {
      await expect(queue.enqueue(PERSIST_RECORDS_JOB, payload)).rejects.toThrow(
        InvalidJobPayloadError,
      );
    }
    await queue.close();
  });
});
