import { buildApp } from '@hubstream/realtime';
import { connectRedis, InlineJobQueue, RedisBus } from '../../packages/cluster/src/index.ts';
import { loadConfig } from '../../packages/config/src/index.ts';
import { openDatabase } from '../../packages/db/src/index.ts';
import { createLogger } from '../../packages/service/src/index.ts';
import { runServer } from './server-control.ts';
import { persistRecordsDefinitions } from './server-jobs.ts';

// One realtime node of the cross-node benchmark, in a process of its own:
// the database, Redis and key prefix that all nodes of the run share come
// from the environment (cluster.ts creates them and the app). Prints the
// node's ws URL (without the app id) on stdout.

const need = (name: string): string => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set (cluster.ts starts this server)`);
  return value;
};

await runServer('node', async (defer) => {
  const nodeId = need('BENCH_NODE_ID');
  const keyPrefix = need('BENCH_KEY_PREFIX');
  const redisUrl = need('BENCH_REDIS_URL');
  const db = await openDatabase({ kind: 'postgres', url: need('BENCH_DATABASE_URL'), poolSize: 5 });
  defer(() => db.close());
  const config = loadConfig({
    LOG_LEVEL: 'warn',
    // All bench connections come from 127.0.0.1, 50 handshakes at a time (see server-hubstream.ts).
    MAX_UNAUTHENTICATED_CONNECTIONS_PER_ADDRESS: '1000',
    REDIS_URL: redisUrl,
    REDIS_KEY_PREFIX: keyPrefix,
  });
  const logger = createLogger({ level: 'warn', name: nodeId, destination: process.stderr });
  const bus = new RedisBus({ nodeId, url: redisUrl, keyPrefix });
  defer(() => bus.close());
  await bus.ready();
  const redis = connectRedis(redisUrl, logger);
  defer(() => redis.quit());
  // Record writes without an ack are persisted in batches by the worker's job, run here.
  const jobs = new InlineJobQueue(
    persistRecordsDefinitions({ prisma: db.prisma, redis, keyPrefix }),
    logger,
  );
  defer(() => jobs.close());
  const realtime = await buildApp({
    config,
    db,
    bus,
    jobs,
    logger,
    cluster: { kind: 'redis', connection: redis, keyPrefix },
  });
  defer(() => realtime.close());
  await realtime.listen({ host: '127.0.0.1', port: 0 });
  const address = realtime.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return `ws://127.0.0.1:${port}`;
});
