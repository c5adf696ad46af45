import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import type { DeepstreamClient } from '@deepstream/client';
import { loadTestConfig } from '@hubstream/config';
import { type Database, openDatabase } from '@hubstream/db';
import { createTestDatabase, type TestDatabase } from '@hubstream/db/testing';
import {
  Clients,
  type Mailbox,
  ROLE_ENTRY,
  type Role,
  type RunningRole,
  api as request,
  roleCommand,
  runRoleUntilExit,
  startMailbox,
  startRole,
  until,
} from '@hubstream/testing';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// The production roles as three real processes on a fresh Postgres database
// and their own Redis key prefix: the control plane (which migrates), one
// realtime node and one worker, talking only through Postgres and Redis.

const { TEST_REDIS_URL } = loadTestConfig();

const rules = (publish: boolean) =>
  `record:\n  "*":\n    read: true\nevent:\n  "*":\n    publish: ${publish}\n    subscribe: true\nrpc:\n  "*":\n    request: true\npresence:\n  "*":\n    allow: true\n`;

let testDb: TestDatabase;
let db: Database;
let redis: Redis;
let mailbox: Mailbox;
const keyPrefix = `test:roles:${randomBytes(4).toString('hex')}:`;
let env: Record<string, string>;
const roles: Partial<Record<Role, RunningRole>> = {};
let urls: Record<Role, string>;
const clients = new Clients();

beforeAll(async () => {
  testDb = await createTestDatabase('roles');
  mailbox = await startMailbox();
  redis = new Redis(TEST_REDIS_URL);
  env = {
    DATABASE_URL: testDb.url,
    REDIS_URL: TEST_REDIS_URL,
    REDIS_KEY_PREFIX: keyPrefix,
    SMTP_URL: mailbox.url,
    MAIL_FROM: 'Hubstream <no-reply@roles.test>',
    USAGE_REPORT_INTERVAL_MS: '200',
    LOG_LEVEL: 'info',
  };
  // The node and the worker come up first, on an empty database: they must
  // wait for the control plane's migrations instead of running their own.
  roles.realtime = startRole('realtime', env);
  roles.worker = startRole('worker', env);
  const waiting = (entry: Record<string, unknown>) =>
    entry.msg === 'waiting for the control plane to migrate the database';
  await Promise.all([roles.realtime.waitForLog(waiting), roles.worker.waitForLog(waiting)]);
  roles['control-plane'] = startRole('control-plane', env);
  const [controlPlane, realtime, worker] = await Promise.all([
    roles['control-plane'].listening,
    roles.realtime.listening,
    roles.worker.listening,
  ]);
  urls = { 'control-plane': controlPlane, realtime, worker };
  db = await openDatabase({ kind: 'postgres', url: testDb.url, poolSize: 2 });
}, 120_000);

afterAll(async () => {
  clients.closeAll();
  await Promise.all(Object.values(roles).map((role) => role.stop('SIGKILL')));
  await db?.close();
  if (redis) {
    const keys = await redis.keys(`${keyPrefix}*`);
    if (keys.length > 0) await redis.unlink(...keys);
    await redis.quit();
  }
  await mailbox?.close();
  await testDb?.drop();
});

const api = (method: string, path: string, body?: unknown, token?: string) =>
  request(urls['control-plane']!, method, path, { body, ...(token ? { token } : {}) });

const client = (appId: string): Promise<DeepstreamClient> =>
  clients.login(`${urls.realtime}/${appId}`);

describe('the separate roles (pnpm start:control-plane, start:realtime, start:worker)', () => {
  let token: string;
  let appId: string;
  let alice: DeepstreamClient;
  let bob: DeepstreamClient;

  it('are the root scripts, and only the control plane migrates', async () => {
    const scripts = (
      JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as {
        scripts: Record<string, string>;
      }
    ).scripts;
    // The script builds what changed, then becomes node on the entry this test starts.
    for (const role of Object.keys(ROLE_ENTRY) as Role[]) {
      expect(scripts[`start:${role}`]).toBe(
        `node scripts/build.mjs --if-changed && exec ${roleCommand(role).argv.join(' ')}`,
      );
    }
    const migrated = await roles['control-plane']!.waitForLog((e) => Array.isArray(e.applied));
    const folders = readdirSync(new URL('../../../prisma/migrations/', import.meta.url), {
      withFileTypes: true,
    });
    expect(migrated.applied).toEqual(
      folders
        .filter((f) => f.isDirectory())
        .map((f) => f.name)
        .sort(),
    );
    for (const role of [roles.realtime!, roles.worker!]) {
      expect(role.logs.some((e) => e.applied !== undefined)).toBe(false);
    }
  });

  it('each answer /health and /ready', async () => {
    for (const url of Object.values(urls)) {
      const base = url.replace(/^ws/, 'http');
      expect((await fetch(`${base}/health`)).status).toBe(200);
      const ready = await fetch(`${base}/ready`);
      expect(await ready.json()).toEqual({ status: 'ready' });
    }
  });

  it('sign-up mail queued by the control plane is sent by the worker', async () => {
    const email = `dev-${randomBytes(3).toString('hex')}@roles.test`;
    const signup = await api('POST', '/v1/signup', { email, password: 'correct horse battery' });
    expect(signup.status).toBe(201);
    token = signup.body.token;
    const mail = await mailbox.next(email);
    expect(mail.subject).toBe('Verify your email address for Hubstream');
    const sent = await roles.worker!.waitForLog((e) => e.msg === 'email sent');
    expect(sent).toMatchObject({ job: 'send-email', via: 'smtp' });
  });

  it('a client of the realtime process exchanges events in an app made on the control plane', async () => {
    const app = await api('POST', '/v1/apps', { name: 'roles' }, token);
    expect(app.status).toBe(201);
    appId = app.body.id;
    expect(
      (await api('PUT', `/v1/apps/${appId}/permissions`, { valve: rules(true) }, token)).status,
    ).toBe(200);
    alice = await client(appId);
    bob = await client(appId);
    const received: unknown[] = [];
    bob.event.subscribe('news', (data: unknown) => received.push(data));
    // Emits until the subscription has reached the node and the first one arrives.
    await until(async () => {
      alice.event.emit('news', { n: 1 });
      return received.length > 0 ? true : undefined;
    }, 'an event at bob');
    expect(received[0]).toEqual({ n: 1 });
  });

  it('a permission change made on the control plane is enforced by the node (over the Redis bus)', async () => {
    const denied: string[] = [];
    alice.on('error', (_meta: unknown, event: string) => denied.push(event));
    expect(
      (await api('PUT', `/v1/apps/${appId}/permissions`, { valve: rules(false) }, token)).status,
    ).toBe(200);
    await until(async () => {
      alice.event.emit('news', { n: 2 });
      return denied.includes('MESSAGE_DENIED') ? true : undefined;
    }, 'MESSAGE_DENIED');
  });

  it("the worker rolls the node's usage up into the app's usage samples", async () => {
    const sample = await until(async () => {
      const rows = await db.prisma.usageSample.findMany({ where: { appId } });
      const messagesIn = rows.reduce((sum, row) => sum + Number(row.messagesIn), 0);
      const denied = rows.reduce((sum, row) => sum + Number(row.denied), 0);
      return messagesIn > 0 && denied > 0 ? { rows, messagesIn, denied } : undefined;
    }, 'a usage sample');
    expect(Math.max(...sample.rows.map((r) => r.peakConnections))).toBe(2);
    // The ledger that makes reports idempotent lives under the app's keys.
    expect((await redis.keys(`${keyPrefix}hs:${appId}:usage:*`)).length).toBeGreaterThan(0);
  });

  it("deleting the app closes its clients on the node and the worker purges the app's Redis keys", async () => {
    const neighbour = (await api('POST', '/v1/apps', { name: 'neighbour' }, token)).body.id;
    await redis.set(`${keyPrefix}hs:${appId}:record:left-behind`, '1');
    await redis.set(`${keyPrefix}hs:${neighbour}:record:kept`, '1');
    const closed = new Promise<string>((resolve) => {
      bob.on('connectionStateChanged', (state: string) => {
        if (state !== 'OPEN') resolve(state);
      });
    });

    expect((await api('DELETE', `/v1/apps/${appId}`, undefined, token)).status).toBe(204);
    expect(await closed).not.toBe('OPEN');
    const purged = await roles.worker!.waitForLog(
      (e) => e.msg === 'deleted app purged' && e.app === appId,
    );
    // At least the record key; the usage ledger may already be gone with the
    // node's last report of the app, whose job drops it once the app is.
    expect(purged.keys).toBeGreaterThanOrEqual(1);
    expect(await redis.get(`${keyPrefix}hs:${appId}:record:left-behind`)).toBeNull();
    // The node's last usage report of the app may still be on its way: the
    // worker drops its ledger too, so nothing of the app stays.
    await until(
      async () => ((await redis.keys(`${keyPrefix}hs:${appId}:*`)).length === 0 ? true : undefined),
      'no key of the app',
    );
    expect(await redis.get(`${keyPrefix}hs:${neighbour}:record:kept`)).toBe('1');
  });

  it('stop cleanly on SIGTERM', async () => {
    for (const role of ['realtime', 'worker', 'control-plane'] as const) {
      const running = roles[role]!;
      expect(await running.stop('SIGTERM'), role).toBe(0);
      expect(running.logs.some((e) => e.msg === 'stopped cleanly')).toBe(true);
    }
  });
});

describe('a separate role without Postgres or Redis', () => {
  it.each(Object.keys(ROLE_ENTRY) as Role[])('%s refuses to start and says why', async (role) => {
    const noRedis = await runRoleUntilExit(role, { DATABASE_URL: 'postgresql://x@127.0.0.1/x' });
    expect(noRedis.code).toBe(1);
    expect(noRedis.stderr).toContain(`The ${role} role needs REDIS_URL`);
    expect(noRedis.stderr).toContain('pnpm start');
    const neither = await runRoleUntilExit(role, {});
    expect(neither.code).toBe(1);
    expect(neither.stderr).toContain(`The ${role} role needs DATABASE_URL and REDIS_URL`);
  });
});
