import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DeepstreamClient } from '@deepstream/client';
import { loadTestConfig } from '@hubstream/config';
import { type Database, openDatabase } from '@hubstream/db';
import { createTestDatabase } from '@hubstream/db/testing';
import { api, type RunningHubstream, startHubstream, until } from '@hubstream/testing';
import { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

// `pnpm start` with the worker's jobs in the same process: on its own
// (in-process bus, inline jobs, PGlite) and with REDIS_URL (Redis bus and
// BullMQ, as the separate roles use). Usage reaches the usage samples and a
// deleted app is purged either way.

const { TEST_REDIS_URL } = loadTestConfig();
const ALLOW = `record:\n  "*":\n    read: true\nevent:\n  "*":\n    publish: true\n    subscribe: true\nrpc:\n  "*":\n    request: true\npresence:\n  "*":\n    allow: true\n`;

let dataDir: string;
const clients: DeepstreamClient[] = [];
beforeEach(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'hs-standalone-jobs-'));
});
afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  await rm(dataDir, { recursive: true, force: true });
});

type Api = (
  method: string,
  route: string,
  body?: unknown,
  // biome-ignore lint/suspicious/noExplicitAny: replies are asserted field by field
) => Promise<{ status: number; body: any }>;

/** Signs a developer up; returns their API caller. */
async function developer(hubstream: RunningHubstream): Promise<Api> {
  let token: string | undefined;
  const call: Api = (method, route, body) =>
    api(hubstream.controlPlaneUrl, method, route, { body, ...(token ? { token } : {}) });
  const signup = await call('POST', '/v1/signup', {
    email: `dev-${randomBytes(3).toString('hex')}@example.com`,
    password: 'correct horse battery',
  });
  token = signup.body.token;
  return call;
}

/** Makes an app that allows events and exchanges one event in it between two clients. */
async function appWithTraffic(hubstream: RunningHubstream, call: Api): Promise<string> {
  const appId = (await call('POST', '/v1/apps', { name: 'jobs' })).body.id as string;
  expect((await call('PUT', `/v1/apps/${appId}/permissions`, { valve: ALLOW })).status).toBe(200);
  const [sender, receiver] = [0, 1].map(() => {
    const client = new DeepstreamClient(`${hubstream.realtimeUrl}/${appId}`, {
      maxReconnectAttempts: 0,
    });
    client.on('error', () => {});
    clients.push(client);
    return client;
  }) as [DeepstreamClient, DeepstreamClient];
  await Promise.all([sender.login({}), receiver.login({})]);
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
      const call = await developer(hubstream);
      appId = await appWithTraffic(hubstream, call);
      const doomed = (await call('POST', '/v1/apps', { name: 'doomed' })).body.id as string;
      expect((await call('DELETE', `/v1/apps/${doomed}`)).status).toBe(204);
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
      const call = await developer(hubstream);
      const appId = await appWithTraffic(hubstream, call);
      await until(async () => ((await usageOf(db, appId)) > 0 ? true : undefined), 'usage');
      // The jobs went through BullMQ, under the configured prefix.
      expect((await redis.keys(`${keyPrefix}hs:bull:*`)).length).toBeGreaterThan(0);
      expect((await redis.keys(`${keyPrefix}hs:${appId}:*`)).length).toBeGreaterThan(0);

      for (const client of clients.splice(0)) client.close();
      expect((await call('DELETE', `/v1/apps/${appId}`)).status).toBe(204);
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
