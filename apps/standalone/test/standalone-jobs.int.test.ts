import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadTestConfig } from '@hubstream/config';
import { type Database, openDatabase } from '@hubstream/db';
import { createTestDatabase } from '@hubstream/db/testing';
import {
  Clients,
  type Developer,
  type RunningHubstream,
  signUp,
  startHubstream,
  until,
} from '@hubstream/testing';
import { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

// `pnpm start` with the worker's jobs in the same process: on its own
// (in-process bus, inline jobs, PGlite) and with REDIS_URL (Redis bus and
// BullMQ, as the separate roles use). Usage reaches the usage samples and a
// deleted app is purged either way.

const { TEST_REDIS_URL } = loadTestConfig();
const ALLOW = `record:\n  "*":\n    read: true\nevent:\n  "*":\n    publish: true\n    subscribe: true\nrpc:\n  "*":\n    request: true\npresence:\n  "*":\n    allow: true\n`;

let dataDir: string;
const clients = new Clients();
beforeEach(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'hs-standalone-jobs-'));
});
afterEach(async () => {
  clients.closeAll();
  await rm(dataDir, { recursive: true, force: true });
});

/** Makes an app that allows events and exchanges one event in it between two clients. */
async function appWithTraffic(hubstream: RunningHubstream, owner: Developer): Promise<string> {
  const appId = await owner.createApp({ name: 'jobs', valve: ALLOW });
  const url = `${hubstream.realtimeUrl}/${appId}`;
  const [sender, receiver] = await Promise.all([clients.login(url), clients.login(url)]);
  let received = false;
  receiver.event.subscribe('ping', () => {
    received = true;
  });
  await until(async () => {
    sender.event.emit('ping', 1);
    return received ? true : undefined;
  }, 'the event');
  return appId;
}

async function usageOf(db: Database, appId: string): Promise<number> {
  const rows = await db.prisma.usageSample.findMany({ where: { appId } });
  return rows.reduce((sum, row) => sum + Number(row.messagesIn), 0);
}

const purgeOf = (hubstream: RunningHubstream, appId: string) =>
  until(
    async () => hubstream.logs.find((l) => l.msg === 'deleted app purged' && l.app === appId),
    'the purge',
  );

describe('pnpm start runs the worker jobs in its own process', () => {
  it('without REDIS_URL (inline jobs, PGlite): usage reaches the samples, deleted apps are purged', async () => {
    const hubstream = await startHubstream({ DATA_DIR: dataDir, USAGE_REPORT_INTERVAL_MS: '100' });
    let appId: string;
    try {
      expect(hubstream.logs.find((l) => l.listening)?.cluster).toBe('local');
      const owner = await signUp(hubstream.controlPlaneUrl);
      appId = await appWithTraffic(hubstream, owner);
      const doomed = await owner.createApp({ name: 'doomed' });
      expect((await owner.call('DELETE', `/v1/apps/${doomed}`)).status).toBe(204);
      // No Redis: only rows, and the cascade already took them.
      expect(await purgeOf(hubstream, doomed)).toMatchObject({ rows: 0, keys: 0 });
    } finally {
      // Stopping reports what is left and waits for the queued jobs.
      expect(await hubstream.stop()).toBe(0);
    }
    const db = await openDatabase({ kind: 'pglite', dataDir });
    try {
      expect(await usageOf(db, appId)).toBeGreaterThan(0);
    } finally {
      await db.close();
    }
  });

  it('with REDIS_URL (Redis bus, BullMQ): usage reaches the samples, deleted apps are purged', async () => {
    const testDb = await createTestDatabase('standalone_jobs');
    const db = await openDatabase({ kind: 'postgres', url: testDb.url, poolSize: 2 });
    const redis = new Redis(TEST_REDIS_URL);
    const keyPrefix = `test:standalone:${randomBytes(4).toString('hex')}:`;
    const hubstream = await startHubstream({
      DATA_DIR: dataDir,
      DATABASE_URL: testDb.url,
      REDIS_URL: TEST_REDIS_URL,
      REDIS_KEY_PREFIX: keyPrefix,
      USAGE_REPORT_INTERVAL_MS: '100',
    });
    try {
      expect(hubstream.logs.find((l) => l.listening)?.cluster).toBe('redis');
      expect(hubstream.logs.some((l) => String(l.msg).includes('REDIS_URL'))).toBe(false);
      const owner = await signUp(hubstream.controlPlaneUrl);
      const appId = await appWithTraffic(hubstream, owner);
      await until(async () => ((await usageOf(db, appId)) > 0 ? true : undefined), 'usage');
      // The jobs went through BullMQ, under the configured prefix.
      expect((await redis.keys(`${keyPrefix}hs:bull:*`)).length).toBeGreaterThan(0);
      expect((await redis.keys(`${keyPrefix}hs:${appId}:*`)).length).toBeGreaterThan(0);

      clients.closeAll();
      expect((await owner.call('DELETE', `/v1/apps/${appId}`)).status).toBe(204);
      await purgeOf(hubstream, appId);
      await until(
        async () =>
          (await redis.keys(`${keyPrefix}hs:${appId}:*`)).length === 0 ? true : undefined,
        'no key of the app',
      );
      expect(await hubstream.stop()).toBe(0);
    } finally {
      await hubstream.stop('SIGKILL');
      const keys = await redis.keys(`${keyPrefix}*`);
      if (keys.length > 0) await redis.unlink(...keys);
      await redis.quit();
      await db.close();
      await testDb.drop();
    }
  });
});
