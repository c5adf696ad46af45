import { randomBytes } from 'node:crypto';
import { InlineJobQueue, InvalidJobPayloadError } from '@hubstream/cluster';
import { loadConfig, loadTestConfig } from '@hubstream/config';
import { type Database, openDatabase } from '@hubstream/db';
import { createTestDatabase, type TestDatabase } from '@hubstream/db/testing';
import { PURGE_APP_JOB } from '@hubstream/jobs';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createJobDefinitions } from '../src/index.ts';
import { purgeAppJob } from '../src/jobs/purge-app.job.ts';

// The purge of a deleted app against a real Postgres and Redis: every key
// under the app's prefix goes, in batches; nothing of another app, another
// deployment's prefix or the job queue is touched; a live app is refused.

const { TEST_REDIS_URL } = loadTestConfig();

let testDb: TestDatabase;
let db: Database;
let redis: Redis;
const run = randomBytes(4).toString('hex');
const keyPrefix = `test:purge:${run}:`;
/** Another deployment sharing the Redis. */
const otherPrefix = `test:purge-other:${run}:`;
let accountId: string;

function capture() {
  const lines: { level: string; object: object; message: string }[] = [];
  const at = (level: string) => (object: object, message: string) => {
    lines.push({ level, object, message });
  };
  return { lines, info: at('info'), warn: at('warn'), error: at('error') };
}

beforeAll(async () => {
  testDb = await createTestDatabase('purge');
  db = await openDatabase({ kind: 'postgres', url: testDb.url, poolSize: 5 });
  await db.migrate();
  redis = new Redis(TEST_REDIS_URL);
  const account = await db.prisma.account.create({
    data: { email: 'purge@example.com', passwordHash: 'x' },
  });
  accountId = account.id;
});

afterAll(async () => {
  if (redis) {
    for (const prefix of [keyPrefix, otherPrefix]) {
      const keys = await redis.keys(`${prefix}*`);
      if (keys.length > 0) await redis.unlink(...keys);
    }
    await redis.quit();
  }
  await db?.close();
  await testDb?.drop();
});

/** An app with a row in every table that belongs to it. */
async function appWithRows(): Promise<string> {
  const id = randomBytes(6).toString('hex');
  await db.prisma.app.create({ data: { id, accountId, name: 'purged' } });
  await db.prisma.appAuthSettings.create({ data: { appId: id } });
  await db.prisma.appUser.create({
    data: { appId: id, email: 'u@example.com', emailKey: 'u@example.com', passwordHash: 'x' },
  });
  await db.prisma.apiKey.create({
    data: { appId: id, prefix: `hsk_${id}`, keyHash: `hash-${id}` },
  });
  await db.prisma.permissionVersion.create({
    data: { appId: id, version: 1, source: 'x', format: 'yaml', author: 'test' },
  });
  await db.prisma.record.create({ data: { appId: id, name: 'r', version: 1, data: {} } });
  await db.prisma.usageSample.create({ data: { appId: id, minute: new Date() } });
  return id;
}

async function rowsOf(appId: string): Promise<number> {
  const where = { where: { appId } };
  const counts = await Promise.all([
    db.prisma.record.count(where),
    db.prisma.appUser.count(where),
    db.prisma.apiKey.count(where),
    db.prisma.permissionVersion.count(where),
    db.prisma.appAuthSettings.count(where),
    db.prisma.usageSample.count(where),
  ]);
  return counts.reduce((a, b) => a + b, 0);
}

async function fill(prefix: string, appId: string, count: number): Promise<void> {
  const pipeline = redis.pipeline();
  for (let i = 0; i < count; i++) pipeline.set(`${prefix}hs:${appId}:record:r${i}`, 'x');
  pipeline.hset(`${prefix}hs:${appId}:presence`, 'u', '1');
  pipeline.sadd(`${prefix}hs:${appId}:subscriptions`, 'a', 'b');
  await pipeline.exec();
}

const keysOf = (pattern: string) => redis.keys(pattern);

const purgeJob = (logger = capture()) =>
  purgeAppJob({ prisma: db.prisma, redis, keyPrefix, logger });

describe('purge-app', () => {
  it("removes every Redis key of a deleted app, in batches, and nothing of anyone else's", async () => {
    const appId = await appWithRows();
    const neighbour = await appWithRows();
    // An app id that starts with the purged one must not be caught by the pattern.
    const longer = `${appId}zz`;
    await fill(keyPrefix, appId, 1_234);
    await fill(keyPrefix, neighbour, 3);
    await fill(keyPrefix, longer, 2);
    await fill(otherPrefix, appId, 2);
    await redis.set(`${keyPrefix}hs:bull:hubstream:id`, '7');

    await db.prisma.app.delete({ where: { id: appId } });
    const logger = capture();
    await purgeJob(logger).handle({ appId });

    expect(await keysOf(`${keyPrefix}hs:${appId}:*`)).toEqual([]);
    expect(await keysOf(`${keyPrefix}hs:${neighbour}:*`)).toHaveLength(5);
    expect(await keysOf(`${keyPrefix}hs:${longer}:*`)).toHaveLength(4);
    expect(await keysOf(`${otherPrefix}hs:${appId}:*`)).toHaveLength(4);
    expect(await redis.get(`${keyPrefix}hs:bull:hubstream:id`)).toBe('7');
    expect(await rowsOf(neighbour)).toBe(6);
    expect(logger.lines).toEqual([
      {
        level: 'info',
        object: { job: PURGE_APP_JOB, app: appId, rows: 0, keys: 1_236 },
        message: 'deleted app purged',
      },
    ]);
  });

  it('is harmless to run again (a retried job)', async () => {
    const appId = await appWithRows();
    await fill(keyPrefix, appId, 10);
    await db.prisma.app.delete({ where: { id: appId } });
    await purgeJob().handle({ appId });
    const logger = capture();
    await purgeJob(logger).handle({ appId });
    expect(await keysOf(`${keyPrefix}hs:${appId}:*`)).toEqual([]);
    expect(logger.lines[0]?.object).toEqual({ job: PURGE_APP_JOB, app: appId, rows: 0, keys: 0 });
  });

  it('refuses to purge an app that still exists', async () => {
    const appId = await appWithRows();
    await fill(keyPrefix, appId, 3);
    const logger = capture();
    await purgeJob(logger).handle({ appId });
    expect(await keysOf(`${keyPrefix}hs:${appId}:*`)).toHaveLength(5);
    expect(await rowsOf(appId)).toBe(6);
    expect(logger.lines).toEqual([
      {
        level: 'warn',
        object: { job: PURGE_APP_JOB, app: appId },
        message: 'the app still exists: not purging it',
      },
    ]);
  });

  it('refuses app ids that are not app ids (no glob reaches SCAN)', async () => {
    const logger = capture();
    const queue = new InlineJobQueue(
      createJobDefinitions({ config: loadConfig({}), logger, prisma: db.prisma, redis }),
      logger,
    );
    for (const appId of ['*', 'abc*defghij', 'bull', 'ABCDEFGHIJKL', 'abcdef[12]']) {
      await expect(queue.enqueue(PURGE_APP_JOB, { appId })).rejects.toThrow(InvalidJobPayloadError);
    }
    await queue.close();
  });

  it('runs through the queue with the prefix from the config', async () => {
    const appId = await appWithRows();
    await fill(keyPrefix, appId, 20);
    await db.prisma.app.delete({ where: { id: appId } });
    const logger = capture();
    const queue = new InlineJobQueue(
      createJobDefinitions({
        config: loadConfig({ REDIS_KEY_PREFIX: keyPrefix }),
        logger,
        prisma: db.prisma,
        redis,
      }),
      logger,
    );
    await queue.enqueue(PURGE_APP_JOB, { appId });
    await queue.close(); // resolves once the queued job has run
    expect(await keysOf(`${keyPrefix}hs:${appId}:*`)).toEqual([]);
  });
});
