import { buildApp as buildControlPlane } from '@hubstream/control-plane';
import { api } from '@hubstream/testing/core';
import { InlineJobQueue, LocalBus } from '../../packages/cluster/src/index.ts';
import { loadConfig } from '../../packages/config/src/index.ts';
import { openDatabase } from '../../packages/db/src/index.ts';
import { createLogger } from '../../packages/service/src/index.ts';

// The app every Hubstream server of the bench serves, created through the
// control plane's HTTP API: open auth, one Valve rule that runs on every
// emit (everything else is allowed), and the highest per-app limits. Open
// auth names its users `open:<username>`, so the rule refuses the user the
// bench logs in as 'blocked' (preflight.ts checks that it does).

export const BENCH_RULES = `record:
  "*":
    create: true
    read: true
    write: true
    delete: true
    listen: true
    notify: true
event:
  "*":
    publish: "user.id !== 'open:blocked'"
    subscribe: true
    listen: true
rpc:
  "*":
    provide: true
    request: true
presence:
  "*":
    allow: true
`;

/** One control plane call (the tests' `api`) that must succeed; resolves with the reply's body. */
async function call(base: string, method: string, path: string, body: unknown, token?: string) {
  const reply = await api(base, method, path, { body, ...(token ? { token } : {}) });
  if (reply.status >= 300) throw new Error(`${method} ${path}: ${reply.status} ${reply.text}`);
  return (reply.body ?? {}) as Record<string, unknown>;
}

/** Signs up, creates the bench app on the control plane at `api`, and returns its id. */
export async function createBenchApp(api: string): Promise<string> {
  const signup = await call(api, 'POST', '/v1/signup', {
    email: `bench-${Date.now()}@example.com`,
    password: 'correct horse battery staple',
  });
  const token = String(signup.token);
  const app = await call(api, 'POST', '/v1/apps', { name: 'realtime bench' }, token);
  const appId = String(app.id);
  await call(api, 'PUT', `/v1/apps/${appId}/permissions`, { valve: BENCH_RULES }, token);
  await call(api, 'PUT', `/v1/apps/${appId}/auth`, { open: { enabled: true } }, token);
  // The bench measures the node at full speed: its app gets the highest
  // limits a developer can set, so no rate limit shapes the figures.
  await call(
    api,
    'PUT',
    `/v1/apps/${appId}/limits`,
    {
      maxConnections: 1_000_000,
      maxMessagesPerSecond: 1_000_000,
      connectionMessagesPerSecond: 100_000,
      maxCrossReferencesPerSecond: 1_000_000,
    },
    token,
  );
  return appId;
}

/**
 * Migrates the Postgres database at `databaseUrl`, creates the bench app
 * through a control plane run in this process for the purpose, and returns
 * its id: the set-up of the benches whose nodes run on Postgres.
 */
export async function createBenchAppIn(databaseUrl: string): Promise<string> {
  const quiet = createLogger({ level: 'silent', name: 'bench' });
  const db = await openDatabase({ kind: 'postgres', url: databaseUrl, poolSize: 2 });
  try {
    await db.migrate();
    const config = loadConfig({ ACCOUNT_RATE_LIMIT_MAX: '1000' });
    const bus = new LocalBus({ nodeId: 'bench-setup' });
    const jobs = new InlineJobQueue([], quiet);
    const controlPlane = await buildControlPlane({ config, db, bus, jobs, logger: quiet });
    await controlPlane.listen({ host: '127.0.0.1', port: 0 });
    const address = controlPlane.server.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    const appId = await createBenchApp(`http://127.0.0.1:${port}`);
    await controlPlane.close();
    await jobs.close();
    await bus.close();
    return appId;
  } finally {
    await db.close();
  }
}
