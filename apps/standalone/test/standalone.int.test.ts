import { once } from 'node:events';
import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { openDatabase } from '@hubstream/db';
import { createTestDatabase } from '@hubstream/db/testing';
import {
  httpOf,
  api as request,
  runUntilExit,
  spawnHubstream,
  startHubstream,
} from '@hubstream/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

const migrationsDir = new URL('../../../prisma/migrations/', import.meta.url);
const allMigrations = () =>
  readdirSync(migrationsDir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort();

let dataDir: string;

beforeEach(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'hs-standalone-'));
});

afterEach(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

async function getJson(url: string): Promise<{ status: number; body: unknown }> {
  const response = await fetch(url);
  // biome-ignore lint/suspicious/noExplicitAny: replies are asserted field by field
  return { status: response.status, body: (await response.json()) as any };
}

async function expectBothServersUp(controlPlaneUrl: string, realtimeUrl: string) {
  for (const base of [controlPlaneUrl, httpOf(realtimeUrl)]) {
    expect(await getJson(`${base}/health`)).toEqual({ status: 200, body: { status: 'ok' } });
    expect(await getJson(`${base}/ready`)).toEqual({ status: 200, body: { status: 'ready' } });
  }
}

// Each test starts real processes on PGlite (WebAssembly), slow on a busy machine.
describe('pnpm start (apps/standalone)', { timeout: 240_000 }, () => {
  it('runs both servers on embedded PGlite, stops cleanly, and finds its data again', async () => {
    const first = await startHubstream({ DATA_DIR: dataDir });
    await expectBothServersUp(first.controlPlaneUrl, first.realtimeUrl);
    // A fresh data directory gets every migration of prisma/migrations, in order.
    expect(first.logs.find((l) => l.database === 'pglite')?.applied).toEqual(allMigrations());
    expect(existsSync(path.join(dataDir, 'hubstream.pid'))).toBe(true);
    expect(await first.stop('SIGINT')).toBe(0);
    expect(first.logs.some((l) => l.msg === 'stopped cleanly')).toBe(true);
    expect(existsSync(path.join(dataDir, 'hubstream.pid'))).toBe(false);

    // Data written between runs is there on the next run, and the schema is
    // not migrated twice.
    const db = await openDatabase({ kind: 'pglite', dataDir });
    await db.prisma.account.create({ data: { email: 'kept@example.com', passwordHash: 'h' } });
    await db.close();

    const second = await startHubstream({ DATA_DIR: dataDir });
    await expectBothServersUp(second.controlPlaneUrl, second.realtimeUrl);
    expect(second.logs.find((l) => l.database === 'pglite')?.applied).toEqual([]);
    expect(await second.stop('SIGTERM')).toBe(0);

    const reopened = await openDatabase({ kind: 'pglite', dataDir });
    try {
      expect(await reopened.prisma.account.count({ where: { email: 'kept@example.com' } })).toBe(1);
    } finally {
      await reopened.close();
    }
  });

  it('stops cleanly on a SIGINT that comes while it is still starting', async () => {
    const child = spawnHubstream({ DATA_DIR: dataDir });
    const exited = once(child, 'exit');
    const logs: Record<string, unknown>[] = [];
    const lines = createInterface({ input: child.stdout! });
    let signalled = false;
    lines.on('line', (line) => {
      logs.push(JSON.parse(line) as Record<string, unknown>);
      // The first line comes from the start itself (the database, from its
      // thread), long before the servers listen.
      if (!signalled) {
        signalled = true;
        child.kill('SIGINT');
      }
    });
    const [code, signal] = await exited;
    expect(signal).toBeNull();
    expect(code).toBe(0);
    // Heard during the start; the stop waited for the start to finish.
    const shuttingDown = logs.findIndex((l) => l.msg === 'shutting down');
    const up = logs.findIndex((l) => l.listening);
    expect(shuttingDown).toBeGreaterThan(-1);
    expect(up).toBeGreaterThan(shuttingDown);
    expect(logs.at(-1)?.msg).toBe('stopped cleanly');
    expect(existsSync(path.join(dataDir, 'hubstream.pid'))).toBe(false);
  });

  it('serves the control plane API on PGlite and keeps what it stored across a restart', async () => {
    const first = await startHubstream({ DATA_DIR: dataDir });
    const api = (base: string) => (method: string, path: string, body?: unknown, token?: string) =>
      request(base, method, path, { body, ...(token ? { token } : {}) });
    const call = api(first.controlPlaneUrl);
    const credentials = { email: 'dev@example.com', password: 'correct horse battery' };
    const signup = await call('POST', '/v1/signup', credentials);
    expect(signup.status).toBe(201);
    const app = await call('POST', '/v1/apps', { name: 'Kept' }, signup.body.token);
    expect(app.status).toBe(201);
    const valve =
      'record:\n  "*":\n    read: true\nevent:\n  "*":\n    publish: true\nrpc:\n  "*":\n    request: true\npresence:\n  "*":\n    allow: true\n';
    expect(
      (await call('PUT', `/v1/apps/${app.body.id}/permissions`, { valve }, signup.body.token)).body,
    ).toEqual({
      version: 1,
    });
    expect(await first.stop()).toBe(0);

    const second = await startHubstream({ DATA_DIR: dataDir });
    try {
      const again = api(second.controlPlaneUrl);
      const login = await again('POST', '/v1/login', credentials);
      expect(login.status).toBe(200);
      const kept = await again('GET', `/v1/apps/${app.body.id}`, undefined, login.body.token);
      expect(kept.body).toMatchObject({ name: 'Kept', activePermissionVersion: 1 });
    } finally {
      expect(await second.stop()).toBe(0);
    }
  });

  it('refuses a second process on the same DATA_DIR', async () => {
    const first = await startHubstream({ DATA_DIR: dataDir });
    try {
      const second = await runUntilExit({ DATA_DIR: dataDir });
      expect(second.code).toBe(1);
      expect(second.stdout).toContain('is in use by another Hubstream process');
      // The first one is unharmed.
      await expectBothServersUp(first.controlPlaneUrl, first.realtimeUrl);
    } finally {
      expect(await first.stop()).toBe(0);
    }
  });

  it('uses Postgres when DATABASE_URL is set', async () => {
    const testDb = await createTestDatabase('standalone');
    try {
      const running = await startHubstream({ DATA_DIR: dataDir, DATABASE_URL: testDb.url });
      await expectBothServersUp(running.controlPlaneUrl, running.realtimeUrl);
      expect(running.logs.some((l) => l.database === 'postgres')).toBe(true);
      expect(await running.stop()).toBe(0);
      // Nothing was written to the embedded directory.
      expect(existsSync(path.join(dataDir, 'pgdata'))).toBe(false);
    } finally {
      await testDb.drop();
    }
  });

  it('reports every configuration error at once and does not start', async () => {
    const result = await runUntilExit({ DATA_DIR: dataDir, HTTP_PORT: 'x', LOG_LEVEL: 'loud' });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('Invalid configuration (2 problems)');
    expect(result.stderr).toContain('HTTP_PORT: must be a port number');
    expect(result.stderr).toContain('LOG_LEVEL: must be one of');
    expect(existsSync(path.join(dataDir, 'pgdata'))).toBe(false);
  });
});
