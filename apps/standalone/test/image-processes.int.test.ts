import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { DeepstreamClient } from '@deepstream/client';
import { DeepstreamClient as Client } from '@deepstream/client';
import { loadTestConfig } from '@hubstream/config';
import { type Database, openDatabase } from '@hubstream/db';
import { createTestDatabase, type TestDatabase } from '@hubstream/db/testing';
import {
  ALLOW_ALL,
  type Balancer,
  type Command,
  freePort,
  type NodeProcess,
  openWire,
  type Role,
  type RunningRole,
  api as request,
  runRoleUntilExit,
  startBalancer,
  startRole,
  startTraffic,
  type Traffic,
  until,
} from '@hubstream/testing';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  composeServices,
  dockerfileStages,
  execForm,
  imageCommand,
  k8sContainers,
  ROOT,
} from '../../../test/deployment-files.ts';

// The image's processes, started exactly as the deployment files start them:
// the build stage's own `pnpm deploy --prod` command (read from the
// Dockerfile) deploys into a temporary directory, and each role runs there
// with the argv of its docker-compose.yml service (the same as its
// Kubernetes container's args, and the Dockerfile's CMD for the whole of
// Hubstream). A SIGTERM to that one process must drain it: a realtime node
// answers /ready with 503, closes its clients with GOING_AWAY (the official
// client reconnects to the other node), writes the records acknowledged or
// not, leaves the node registry, and exits 0 (stopOnSignals exits 1 when the
// stop takes longer than SHUTDOWN_TIMEOUT_MS).

const { TEST_REDIS_URL } = loadTestConfig();
const SHUTDOWN_TIMEOUT_MS = '10000';

/** The build stage's deploy command, into `target` instead of the image's /deploy. */
function deployCommand(target: string): string[] {
  const build = dockerfileStages().find((stage) => stage.name === 'build');
  const run = build?.instructions.find((i) => i.keyword === 'RUN' && i.args.includes(' deploy '));
  if (!run) throw new Error('the Dockerfile builds no deployment');
  const argv = run.args.split(/\s+/);
  expect(argv.at(-1)).toBe('/deploy');
  return [...argv.slice(0, -1), target];
}

/** Every file under `dir`, relative to it (symbolic links not followed). */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true }).map((entry) =>
    path.relative(dir, path.join(entry.parentPath, entry.name)),
  );
}

let deployDir: string;
let testDb: TestDatabase;
let db: Database;
let redis: Redis;
let balancer: Balancer | undefined;
const keyPrefix = `test:image:${randomBytes(4).toString('hex')}:`;
const started: RunningRole[] = [];
const clients: DeepstreamClient[] = [];

/** The argv docker-compose.yml gives a service, run in the deployed directory as in /app. */
const composeCommand = (service: string): Command => {
  const argv = composeServices()[service]?.command;
  if (!argv) throw new Error(`docker-compose.yml has no command for ${service}`);
  return { argv, cwd: deployDir };
};

function env(extra: Record<string, string> = {}): Record<string, string> {
  return {
    DATABASE_URL: testDb.url,
    REDIS_URL: TEST_REDIS_URL,
    REDIS_KEY_PREFIX: keyPrefix,
    HTTP_HOST: '127.0.0.1',
    REALTIME_HOST: '127.0.0.1',
    WORKER_HOST: '127.0.0.1',
    SHUTDOWN_TIMEOUT_MS,
    // A drained node answers /ready with 503 for this long before it closes
    // its listener: long enough for the test's poll to see it on any machine.
    DRAIN_READINESS_GRACE_MS: '500',
    NODE_HEARTBEAT_INTERVAL_MS: '250',
    NODE_DEAD_AFTER_MS: '1500',
    LOG_LEVEL: 'info',
    ...extra,
  };
}

function start(role: Role, extra: Record<string, string> = {}): RunningRole {
  const running = startRole(role, env(extra), composeCommand(role));
  started.push(running);
  return running;
}

beforeAll(async () => {
  deployDir = mkdtempSync(path.join(tmpdir(), 'hubstream-image-'));
  // pnpm refuses to deploy into a directory that exists, even empty.
  rmSync(deployDir, { recursive: true });
  const [bin = 'pnpm', ...args] = deployCommand(deployDir);
  const deploy = spawnSync(bin, args, { cwd: ROOT, encoding: 'utf8', env: process.env });
  if (deploy.status !== 0) {
    throw new Error(`${bin} ${args.join(' ')} failed: ${deploy.stdout}\n${deploy.stderr}`);
  }
  testDb = await createTestDatabase('image');
  redis = new Redis(TEST_REDIS_URL);
}, 180_000);

afterAll(async () => {
  for (const client of clients) client.close();
  await Promise.all(started.map((role) => role.stop('SIGKILL')));
  await balancer?.close();
  await db?.close();
  if (redis) {
    const keys = await redis.keys(`${keyPrefix}*`);
    if (keys.length > 0) await redis.unlink(...keys);
    await redis.quit();
  }
  await testDb?.drop();
  if (deployDir) rmSync(deployDir, { recursive: true, force: true });
});

describe('the image', () => {
  it('holds the built output and production dependencies only: no sources, no dev tools', () => {
    const top = readdirSync(deployDir).sort();
    expect(top).toEqual(expect.arrayContaining(['dist', 'node_modules', 'package.json']));
    expect(top).not.toContain('src');
    expect(top).not.toContain('test');
    const files = filesUnder(deployDir);
    const store = readdirSync(path.join(deployDir, 'node_modules/.pnpm'));
    for (const tool of ['vitest', 'vite', '@biomejs', 'typescript', 'tsx', 'esbuild', 'prisma']) {
      const prefix = `${tool.replace('/', '+')}@`;
      expect(
        store.filter((name) => name.startsWith(prefix) || name.startsWith(`${tool}+`)),
        `${tool} is not installed`,
      ).toEqual([]);
    }
    // Each workspace package brings its dist/ (compiled, with source maps) and nothing else.
    const workspace = store.filter((name) => name.startsWith('@hubstream+'));
    expect(workspace.length).toBeGreaterThanOrEqual(8);
    for (const entry of workspace) {
      const [scope = '', name = ''] = entry.split('@file')[0]!.split('+');
      const dir = path.join(deployDir, 'node_modules/.pnpm', entry, 'node_modules', scope, name);
      const own = readdirSync(dir).filter((f) => f !== 'node_modules');
      expect(own, entry).toEqual(expect.arrayContaining(['dist', 'package.json']));
      // (pnpm always packs a package's README and the files its `bin` names.)
      const packedAnyway = ['README.md', 'bin'];
      expect(
        own.filter((f) => !['dist', 'package.json', ...packedAnyway].includes(f)),
        entry,
      ).toEqual([]);
      expect(filesUnder(path.join(dir, 'dist')).some((f) => f.endsWith('.ts'))).toBe(false);
    }
    expect(files.some((f) => f.endsWith('.js.map'))).toBe(true);
    // The dashboard is built into the image and served from it.
    const controlPlane = path.join(deployDir, 'node_modules/@hubstream/control-plane/dist');
    expect(existsSync(path.join(controlPlane, 'dashboard/index.html'))).toBe(true);
    // And the migrations that the migrate command applies.
    const migrations = path.join(deployDir, 'node_modules/@hubstream/db/dist/migrations');
    expect(
      readdirSync(migrations)
        .filter((f) => !f.endsWith('.toml'))
        .sort(),
    ).toEqual(
      readdirSync(path.join(ROOT, 'prisma/migrations'))
        .filter((f) => !f.endsWith('.toml'))
        .sort(),
    );
  });

  it('runs the same command per role in docker-compose.yml and Kubernetes', () => {
    for (const { object, container, init } of k8sContainers()) {
      const service =
        init || object === 'hubstream-migrate' ? 'migrate' : object.replace(/^hubstream-/, '');
      expect(container.args, `${object}/${container.name}`).toEqual(
        composeServices()[service]?.command,
      );
    }
  });

  it('migrates with the migrate service’s command and exits 0', async () => {
    const migrate = await runRoleUntilExit('control-plane', env(), composeCommand('migrate'));
    expect(migrate.code, migrate.stderr).toBe(0);
    const report = migrate.stdout
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .find((entry) => Array.isArray(entry.applied));
    const folders = readdirSync(path.join(ROOT, 'prisma/migrations'), { withFileTypes: true });
    expect(report?.applied).toEqual(
      folders
        .filter((f) => f.isDirectory())
        .map((f) => f.name)
        .sort(),
    );
    db = await openDatabase({ kind: 'postgres', url: testDb.url, poolSize: 2 });
  });

  it('drains a realtime node on SIGTERM to its process: GOING_AWAY, clients elsewhere, records written, registry left, exit 0', async () => {
    const controlPlane = start('control-plane', { HTTP_PORT: '0' });
    const worker = start('worker', { WORKER_PORT: '0' });
    const nodes: NodeProcess[] = await Promise.all(
      [0, 1].map(async () => {
        const role = start('realtime', { REALTIME_PORT: '0' });
        const url = await role.listening;
        const up = await role.waitForLog((entry) => typeof entry.nodeId === 'string');
        return { role, url, port: Number(new URL(url).port), nodeId: up.nodeId as string };
      }),
    );
    const api = await controlPlane.listening;
    await worker.listening;

    // The image's HEALTHCHECK, run as Docker runs it, sees the control plane ready.
    const healthcheck = execForm(
      String(
        dockerfileStages()
          .at(-1)
          ?.instructions.find((i) => i.keyword === 'HEALTHCHECK')
          ?.args.split(/\s+CMD\s+/)[1],
      ),
    );
    const probe = spawnSync(healthcheck[0]!, healthcheck.slice(1), {
      cwd: deployDir,
      encoding: 'utf8',
      env: {
        PATH: process.env.PATH ?? '',
        HTTP_PORT: new URL(api).port,
        REALTIME_PORT: String(await freePort()),
        WORKER_PORT: String(await freePort()),
      },
    });
    expect(probe.status, probe.stdout + probe.stderr).toBe(0);

    const call = (method: string, route: string, body?: unknown, token?: string) =>
      request(api, method, route, { body, ...(token ? { token } : {}) });
    const email = `image-${randomBytes(3).toString('hex')}@image.test`;
    const signup = await call('POST', '/v1/signup', { email, password: 'correct horse battery' });
    expect(signup.status).toBe(201);
    const token = signup.body.token as string;
    const app = await call('POST', '/v1/apps', { name: 'image' }, token);
    expect(app.status).toBe(201);
    const appId = app.body.id as string;
    expect(
      (await call('PUT', `/v1/apps/${appId}/permissions`, { valve: ALLOW_ALL }, token)).status,
    ).toBe(200);

    balancer = await startBalancer(nodes.map((n) => n.port));
    const users: { client: DeepstreamClient; port: number; name: string }[] = [];
    for (let i = 0; i < 4; i++) {
      const client = new Client(`${balancer.url}/${appId}`, {
        maxReconnectAttempts: 50,
        reconnectIntervalIncrement: 50,
        maxReconnectInterval: 300,
      });
      client.on('error', () => {});
      clients.push(client);
      await client.login({ username: `u${i}` });
      users.push({ client, port: balancer.history.at(-1)!, name: `u${i}` });
    }
    const drained = nodes.find((n) => n.port === users[0]!.port)!;
    const other = nodes.find((n) => n !== drained)!;
    const onDrained = users.filter((u) => u.port === drained.port);
    expect(onDrained.length).toBe(2);

    // Acknowledged writes from every client, and writes nobody waits for on the drained node.
    let phase = 1;
    const traffic: Traffic[] = users.map((u) => startTraffic(u.client, u.name, () => phase));
    const loose = onDrained[0]!.client;
    for (let i = 0; i < 20; i++) loose.record.setData(`loose/${i}`, { i });
    const applied = await Promise.all(
      Array.from({ length: 20 }, (_, i) => loose.record.snapshot(`loose/${i}`)),
    );
    expect(applied).toEqual(Array.from({ length: 20 }, (_, i) => ({ i })));
    const bare = await openWire(`${drained.url}/${appId}`);
    const movedAway = onDrained.map(
      (u) =>
        new Promise<void>((resolve) => {
          u.client.on('connectionStateChanged', (state: string) => {
            if (state === 'RECONNECTING') resolve();
          });
        }),
    );

    const readiness: string[] = [];
    let polling = true;
    const poll = (async () => {
      while (polling) {
        const status = await fetch(`http://127.0.0.1:${drained.port}/ready`).then(
          (r) => String(r.status),
          () => 'refused',
        );
        if (readiness.at(-1) !== status) readiness.push(status);
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
    await until(() => readiness.length > 0, 'a first readiness answer');

    // The signal goes to the node's own PID, as tini hands it on.
    expect(await drained.role.stop('SIGTERM')).toBe(0);
    polling = false;
    await poll;
    expect(readiness[0]).toBe('200');
    expect(readiness.slice(1)).toContain('503');
    expect(readiness.slice(1).every((s) => s !== '200')).toBe(true);
    expect(await bare.closed).toEqual({ code: 1001, reason: 'node shutting down' });
    await Promise.all(movedAway);
    expect(drained.role.logs.some((l) => String(l.msg).startsWith('drained:'))).toBe(true);
    expect(drained.role.logs.some((l) => l.msg === 'stopped cleanly')).toBe(true);
    expect(await redis.zrange(`${keyPrefix}hs:_cluster:nodes`, 0, -1)).toEqual([other.nodeId]);

    // The moved clients work on the other node.
    phase = 2;
    const heard = new Set<string>();
    users[3]!.client.event.subscribe('tick', (data: unknown) => {
      const { from, phase: p } = data as { from: string; phase: number };
      if (p === 2) heard.add(from);
    });
    await until(() => onDrained.every((u) => heard.has(u.name)), 'events from the moved clients');
    await Promise.all(traffic.map((t) => t.stop()));
    const acked = new Map(traffic.flatMap((t) => [...t.acked]));
    expect(acked.size).toBeGreaterThan(0);
    const rows = await db.prisma.record.findMany({
      where: { appId, name: { in: [...acked.keys()] } },
      select: { name: true, data: true },
    });
    expect(
      rows.filter((row) => (row.data as { n?: unknown }).n === acked.get(row.name)?.n).length,
    ).toBe(acked.size);
    await until(
      async () =>
        (await db.prisma.record.count({ where: { appId, name: { startsWith: 'loose/' } } })) === 20,
      'the unacknowledged writes in Postgres',
    );
  });

  it.each(['control-plane', 'worker'] as const)(
    'stops the %s on SIGTERM to its process, cleanly, with exit code 0',
    async (role) => {
      const running = started.find((r) => r.role === role && r.child.exitCode === null)!;
      expect(await running.stop('SIGTERM')).toBe(0);
      expect(running.logs.some((l) => l.msg === 'shutting down')).toBe(true);
      expect(running.logs.some((l) => l.msg === 'stopped cleanly')).toBe(true);
    },
  );

  it('runs the whole of Hubstream with the Dockerfile’s CMD and stops it on SIGTERM', async () => {
    const { cmd } = imageCommand();
    const dataDir = mkdtempSync(path.join(tmpdir(), 'hubstream-image-data-'));
    try {
      const standalone = startRole(
        'control-plane',
        {
          DATABASE_URL: testDb.url,
          DATA_DIR: dataDir,
          HTTP_HOST: '127.0.0.1',
          REALTIME_HOST: '127.0.0.1',
          HTTP_PORT: '0',
          REALTIME_PORT: '0',
          TLS_SELF_SIGNED: 'false',
        },
        { argv: cmd, cwd: deployDir },
      );
      started.push(standalone);
      const url = await standalone.listening;
      expect((await fetch(`${url}/ready`)).status).toBe(200);
      const page = await fetch(`${url}/`, { headers: { accept: 'text/html' } });
      expect(await page.text()).toContain('<div id="root">');
      expect(await standalone.stop('SIGTERM')).toBe(0);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
