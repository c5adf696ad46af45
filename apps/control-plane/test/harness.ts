import { type BusEnvelope, InlineJobQueue, type JobDefinition, LocalBus } from '@hubstream/cluster';
import { type Config, loadConfig } from '@hubstream/config';
import { type Database, openDatabase } from '@hubstream/db';
import { createTestDatabase, type TestDatabase } from '@hubstream/db/testing';
import { createLogger, type Logger } from '@hubstream/service';
import { api } from '@hubstream/testing';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../src/index.ts';

// A control plane on a real socket, on a fresh Postgres database or an
// in-memory PGlite, with a bus whose messages the test can read.

export type Backend = 'postgres' | 'pglite';

export type Harness = {
  url: string;
  app: FastifyInstance;
  db: Database;
  /** The Postgres database under a 'postgres' harness (none under PGlite). */
  testDb?: TestDatabase;
  announced: BusEnvelope<'app.changed'>[];
  /** JSON request; `token` goes in the Authorization header. */
  call(
    method: string,
    path: string,
    options?: { token?: string; body?: unknown; headers?: Record<string, string> },
    // biome-ignore lint/suspicious/noExplicitAny: replies are asserted field by field
  ): Promise<{ status: number; body: any; headers: Headers }>;
  close(): Promise<void>;
};

export async function startControlPlane(
  backend: Backend,
  options: {
    env?: Record<string, string>;
    /** Job definitions, or a factory given the harness's own config (e.g. the worker's createJobDefinitions). */
    jobs?: JobDefinition[] | ((context: { config: Config; logger: Logger }) => JobDefinition[]);
    /** The server's logger (default: silent). */
    logger?: Logger;
  } = {},
): Promise<Harness> {
  let testDb: TestDatabase | undefined;
  let db: Database;
  if (backend === 'postgres') {
    testDb = await createTestDatabase('cp');
    db = await openDatabase({ kind: 'postgres', url: testDb.url, poolSize: 5 });
  } else {
    db = await openDatabase({ kind: 'pglite-memory' });
  }
  await db.migrate();
  const config = loadConfig({ ACCOUNT_RATE_LIMIT_MAX: '1000', ...options.env });
  const logger = options.logger ?? createLogger({ level: 'silent', name: 'test' });
  const bus = new LocalBus({ nodeId: 'test' });
  const announced: BusEnvelope<'app.changed'>[] = [];
  bus.subscribe('app.changed', (m) => announced.push(m));
  const definitions =
    typeof options.jobs === 'function' ? options.jobs({ config, logger }) : (options.jobs ?? []);
  const jobs = new InlineJobQueue(definitions, logger);
  const app = await buildApp({ config, db, bus, jobs, logger });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;

  return {
    url,
    app,
    db,
    ...(testDb ? { testDb } : {}),
    announced,
    call: (method, path, options) => api(url, method, path, options),
    async close() {
      await app.close();
      await jobs.close();
      await bus.close();
      await db.close();
      await testDb?.drop();
    },
  };
}

let counter = 0;

/** Signs a new developer up and returns the bearer token. */
export async function signUp(h: Harness, email = `dev${++counter}-${Date.now()}@example.com`) {
  const res = await h.call('POST', '/v1/signup', {
    body: { email, password: 'correct horse battery' },
  });
  if (res.status !== 201) throw new Error(`signup failed: ${JSON.stringify(res.body)}`);
  return { token: res.body.token as string, email, accountId: res.body.account.id as string };
}

/** A control plane on a fresh Postgres database, with one developer and one app. */
export async function startWithApp(): Promise<{ h: Harness; token: string; appId: string }> {
  const h = await startControlPlane('postgres');
  const { token } = await signUp(h);
  return { h, token, appId: (await createApp(h, token)).id };
}

export async function createApp(h: Harness, token: string, name = 'My app') {
  const res = await h.call('POST', '/v1/apps', { token, body: { name } });
  if (res.status !== 201) throw new Error(`create app failed: ${JSON.stringify(res.body)}`);
  return res.body as { id: string; name: string; url: string };
}
