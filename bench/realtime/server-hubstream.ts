import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildApp as buildControlPlane } from '@hubstream/control-plane';
import { buildApp } from '@hubstream/realtime';
import {
  type ClusterBus,
  type ClusterChoice,
  InlineJobQueue,
  LocalBus,
  newRedis,
  RedisBus,
} from '../../packages/cluster/src/index.ts';
import { loadConfig, loadTestConfig } from '../../packages/config/src/index.ts';
import { openDatabase } from '../../packages/db/src/index.ts';
import { createTestDatabase } from '../../packages/db/src/testing.ts';
import { createLogger } from '../../packages/service/src/index.ts';
import { runServer } from './server-control.ts';
import { persistRecordsDefinitions } from './server-jobs.ts';
import { createBenchApp } from './setup.ts';

// Hubstream under test, in a process of its own: a fresh Postgres database
// (dropped at exit; or PGlite, see BENCH_DATABASE below), a control plane
// used once to create the app, and the realtime node. The app is setup.ts's (open auth, one Valve rule on every
// emit). Prints the app's ws URL on stdout.
//
//   tsx bench/realtime/server-hubstream.ts     (run.ts starts it for you)

const portOf = (address: ReturnType<import('node:net').Server['address']>) =>
  typeof address === 'object' && address ? address.port : 0;

// BENCH_DATABASE=pglite: the embedded database `pnpm start` uses, in a
// temporary directory (removed at exit), instead of Postgres.
// BENCH_DATABASE=cluster: Postgres and Redis (TEST_REDIS_URL), a node as a cluster runs it: records' hot copy
// in Redis behind the compare-and-set, a RedisBus, keys under a prefix of
// its own (removed at exit). The persistence batches run in this process
// (a cluster's worker runs them elsewhere).
const DATABASE_VARIABLE = 'BENCH_DATABASE';
const pglite = process.env[DATABASE_VARIABLE] === 'pglite';
const cluster = process.env[DATABASE_VARIABLE] === 'cluster';
// BENCH_RECORD_DURABILITY: the node's RECORD_WRITE_DURABILITY (commit by
// default, as a node's; fsync waits for the WAL flush of every acknowledged
// record write).
const DURABILITY_VARIABLE = 'BENCH_RECORD_DURABILITY';
const durability = process.env[DURABILITY_VARIABLE] ?? 'commit';

await runServer('hubstream', async (defer) => {
  let db: Awaited<ReturnType<typeof openDatabase>>;
  if (pglite) {
    const dataDir = await mkdtemp(join(tmpdir(), 'hubstream-bench-'));
    defer(() => rm(dataDir, { recursive: true, force: true }));
    db = await openDatabase({ kind: 'pglite', dataDir });
  } else {
    const testDb = await createTestDatabase('bench');
    defer(() => testDb.drop());
    db = await openDatabase({ kind: 'postgres', url: testDb.url, poolSize: 10 });
  }
  defer(() => db.close());
  await db.migrate();
  // Every bench connection comes from 127.0.0.1, up to 50 handshakes at a
  // time (client.ts openMany): the per-address cap of connections not yet
  // logged in (32 by default) would close some of them during the handshake.
  const config = loadConfig({
    ACCOUNT_RATE_LIMIT_MAX: '1000',
    LOG_LEVEL: 'warn',
    MAX_UNAUTHENTICATED_CONNECTIONS_PER_ADDRESS: '1000',
    RECORD_WRITE_DURABILITY: durability,
  });
  // The node's warnings and errors go to stderr (the bench reads the URL
  // from stdout). The control plane only serves the set-up below; it would
  // complain that this process has no worker to send the sign-up email.
  const logger = createLogger({ level: 'warn', name: 'bench', destination: process.stderr });
  const quiet = createLogger({ level: 'silent', name: 'bench' });
  let bus: ClusterBus = new LocalBus({ nodeId: 'bench' });
  let jobs = new InlineJobQueue([], quiet);
  let shared: ClusterChoice = { kind: 'local' };
  if (cluster) {
    const url = loadTestConfig().TEST_REDIS_URL;
    const keyPrefix = `bench:${randomBytes(4).toString('hex')}:`;
    const connection = newRedis(url);
    defer(() => connection.quit());
    defer(async () => {
      // The bench's keys go with it.
      let cursor = '0';
      do {
        const [next, keys] = await connection.scan(cursor, 'MATCH', `${keyPrefix}*`, 'COUNT', 500);
        if (keys.length > 0) await connection.del(...keys);
        cursor = next;
      } while (cursor !== '0');
    });
    shared = { kind: 'redis', connection, keyPrefix };
    const redisBus = new RedisBus({ nodeId: 'bench', url, keyPrefix });
    await redisBus.ready();
    bus = redisBus;
    const jobsRedis = newRedis(url);
    defer(() => jobsRedis.quit());
    jobs = new InlineJobQueue(
      persistRecordsDefinitions({ prisma: db.prisma, redis: jobsRedis, keyPrefix }),
      quiet,
    );
  }
  defer(() => bus.close());
  defer(() => jobs.close());

  const controlPlane = await buildControlPlane({ config, db, bus, jobs, logger: quiet });
  defer(() => controlPlane.close());
  await controlPlane.listen({ host: '127.0.0.1', port: 0 });
  const realtime = await buildApp({
    config,
    db,
    bus,
    jobs,
    logger,
    cluster: shared,
  });
  defer(() => realtime.close());
  await realtime.listen({ host: '127.0.0.1', port: 0 });

  const api = `http://127.0.0.1:${portOf(controlPlane.server.address())}`;
  const appId = await createBenchApp(api);
  return `ws://127.0.0.1:${portOf(realtime.server.address())}/${appId}`;
});
