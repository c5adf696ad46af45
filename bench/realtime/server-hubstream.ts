import { buildApp as buildControlPlane } from '../../apps/control-plane/src/index.ts';
import { buildApp } from '../../apps/realtime/src/index.ts';
import { InlineJobQueue, LocalBus } from '../../packages/cluster/src/index.ts';
import { loadConfig } from '../../packages/config/src/index.ts';
import { openDatabase } from '../../packages/db/src/index.ts';
import { createTestDatabase } from '../../packages/db/src/testing.ts';
import { createLogger } from '../../packages/service/src/index.ts';
import { runServer } from './server-control.ts';

// Hubstream under test, in a process of its own: a fresh Postgres database
// (dropped at exit), a control plane used once to create the app, and the
// realtime node. The app has open auth and one Valve rule that runs on every
// emit; everything else is allowed. Prints the app's ws URL on stdout.
//
//   tsx bench/realtime/server-hubstream.ts     (run.ts starts it for you)

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
    publish: "user.id !== 'blocked'"
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

type Reply = { status: number; body: Record<string, unknown> | null };

async function call(base: string, method: string, path: string, body: unknown, token?: string) {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: {
      'content-type': 'application/json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  const reply: Reply = { status: response.status, body: text ? JSON.parse(text) : null };
  if (reply.status >= 300) throw new Error(`${method} ${path}: ${reply.status} ${text}`);
  return reply.body ?? {};
}

const portOf = (address: ReturnType<import('node:net').Server['address']>) =>
  typeof address === 'object' && address ? address.port : 0;

await runServer('hubstream', async (defer) => {
  const testDb = await createTestDatabase('bench');
  defer(() => testDb.drop());
  const db = await openDatabase({ kind: 'postgres', url: testDb.url, poolSize: 10 });
  defer(() => db.close());
  await db.migrate();
  const config = loadConfig({ ACCOUNT_RATE_LIMIT_MAX: '1000', LOG_LEVEL: 'warn' });
  // The node's warnings and errors go to stderr (the bench reads the URL
  // from stdout). The control plane only serves the set-up below; it would
  // complain that this process has no worker to send the sign-up email.
  const logger = createLogger({ level: 'warn', name: 'bench', destination: process.stderr });
  const quiet = createLogger({ level: 'silent', name: 'bench' });
  const bus = new LocalBus({ nodeId: 'bench' });
  defer(() => bus.close());
  const jobs = new InlineJobQueue([], quiet);
  defer(() => jobs.close());

  const controlPlane = await buildControlPlane({ config, db, bus, jobs, logger: quiet });
  defer(() => controlPlane.close());
  await controlPlane.listen({ host: '127.0.0.1', port: 0 });
  const realtime = await buildApp({ config, db, bus, jobs, logger });
  defer(() => realtime.close());
  await realtime.listen({ host: '127.0.0.1', port: 0 });

  const api = `http://127.0.0.1:${portOf(controlPlane.server.address())}`;
  const signup = await call(api, 'POST', '/v1/signup', {
    email: `bench-${Date.now()}@example.com`,
    password: 'correct horse battery staple',
  });
  const token = String(signup.token);
  const app = await call(api, 'POST', '/v1/apps', { name: 'realtime bench' }, token);
  const appId = String(app.id);
  await call(api, 'PUT', `/v1/apps/${appId}/permissions`, { valve: BENCH_RULES }, token);
  await call(api, 'PUT', `/v1/apps/${appId}/auth`, { open: { enabled: true } }, token);
  return `ws://127.0.0.1:${portOf(realtime.server.address())}/${appId}`;
});
