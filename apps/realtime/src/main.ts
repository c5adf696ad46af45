import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { connectRedis, openRedisServices } from '@hubstream/cluster';
import { loadRoleConfigOrExit, publicRealtimeUrl } from '@hubstream/config';
import { openDatabase, waitForSchema } from '@hubstream/db';
import { enqueueOnly, JOB_CONTRACTS } from '@hubstream/jobs';
import {
  createLogger,
  listeningUrl,
  openRoleTransport,
  startPasswordProcess,
  stopOnSignals,
} from '@hubstream/service';
import type { FastifyInstance } from 'fastify';
import { buildApp } from './app.ts';
import { warmListenPatterns } from './listen/listen-pattern.ts';
import { UsageReporter } from './usage-reporter.ts';

// `pnpm start:realtime`: one realtime node, one of the production roles.
// Run as many as the load needs: they share state over Redis. The control
// plane applies migrations; a node waits until they are all in.

const roleConfig = loadRoleConfigOrExit('realtime');
const { DATABASE_URL, REDIS_URL } = roleConfig;

const logger = createLogger({ level: roleConfig.LOG_LEVEL, name: 'hubstream-realtime' });
// Unique per process: the bus drops a node's own echoes by it.
const nodeId = `realtime-${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
const keyPrefix = roleConfig.REDIS_KEY_PREFIX ?? '';
let config = roleConfig;

async function openConnections(app: FastifyInstance): Promise<number> {
  const runtimes = await app.hubstream.registry.loaded();
  return runtimes.reduce((sum, runtime) => sum + runtime.connectionCount, 0);
}

const closers: (() => Promise<void>)[] = [];
let server: FastifyInstance | undefined;
let reporter: UsageReporter | undefined;
// SIGTERM drains the node within SHUTDOWN_TIMEOUT_MS. Closing the server
// answers /ready and new connections with 503 at once, then stops listening;
// closes every client connection with GOING_AWAY (the official client then
// reconnects, through the load balancer, to another node); writes pending
// records; and takes the node's registrations out of the cluster and leaves
// the node registry, so no other node waits for its entry to expire.
const stop = async () => {
  const connections = server ? await openConnections(server) : 0;
  logger.info({ nodeId, connections }, 'draining: moving clients to other nodes');
  // The registry forgets its apps on close: the reporter notes them first,
  // then reports what they counted up to the last connection's close.
  await reporter?.sample().catch(() => {});
  // Out of the load balancers' rotation first, while still serving.
  server?.hubstream.markDraining();
  if (config.DRAIN_READINESS_GRACE_MS > 0)
    await new Promise((resolve) => setTimeout(resolve, config.DRAIN_READINESS_GRACE_MS));
  await server?.close();
  logger.info({ nodeId }, 'drained: clients closed, records written, node registry left');
  await reporter?.stop().catch(() => {});
  for (const close of closers.reverse()) await close().catch(() => {});
};
stopOnSignals({ logger, timeoutMs: config.SHUTDOWN_TIMEOUT_MS, stop });

try {
  // TLS (or the proof that plaintext is fine here) before anything opens:
  // a node that may not listen says why at once.
  const role = await openRoleTransport(
    roleConfig,
    { server: 'realtime node', host: roleConfig.REALTIME_HOST, hostVariable: 'REALTIME_HOST' },
    logger,
  );
  config = role.config;
  const { transport } = role;
  // Prisma (its modules and its query compiler) is loaded once the node
  // listens (below), not before: nothing on the way to ready queries through
  // Prisma, and `db.prisma` is a stand-in until then (@hubstream/db's lazy-prisma).
  const db = await openDatabase({ kind: 'postgres', url: DATABASE_URL }, { warmUp: false });
  closers.push(() => db.close());
  // The schema check and Redis connect at the same time (a faster start).
  const schemaReady = waitForSchema(db, logger);
  // A node only queues (usage reports); workers run the jobs.
  const opening = openRedisServices({
    url: REDIS_URL,
    keyPrefix,
    nodeId,
    definitions: enqueueOnly(JOB_CONTRACTS),
    logger,
    processJobs: false,
  }).then((services) => {
    closers.push(() => services.bus.close());
    closers.push(() => services.jobs.close());
    return services;
  });
  const [, { bus, jobs }] = await Promise.all([schemaReady, opening]);
  // Cluster state other than the bus and the queue shares this connection.
  const redis = connectRedis(REDIS_URL, logger);
  closers.push(async () => {
    await redis.quit();
  });

  const app = await buildApp({
    config,
    db,
    bus,
    jobs,
    logger,
    cluster: { kind: 'redis', connection: redis, keyPrefix },
    serverFactory: transport.serverFactory,
  });
  server = app;
  reporter = new UsageReporter({
    nodeId,
    runtimes: () => app.hubstream.registry.loaded(),
    jobs,
    intervalMs: config.USAGE_REPORT_INTERVAL_MS,
    logger,
  });
  await app.listen({ host: config.REALTIME_HOST, port: config.REALTIME_PORT });
  reporter.start();
  // The first login's app lookup needs it: loaded now, while the first
  // clients connect. A failure is left for that query to report.
  db.prisma.$connect().catch(() => {});
  // Email logins hash there: spawned now, not at the first login (password-process.ts).
  startPasswordProcess();
  warmListenPatterns();
  // BullMQ for the usage reports: loaded now, not at the first report (a
  // whole minute into the node's traffic).
  void jobs.prepare();
  const realtimeUrl = listeningUrl(app, transport.secure ? 'wss' : 'ws');
  const publicUrl = config.PUBLIC_REALTIME_URL ? publicRealtimeUrl(config) : realtimeUrl;
  logger.info(
    {
      role: 'realtime',
      nodeId,
      listening: { realtimeUrl },
      tls: { on: transport.secure, plaintextToo: transport.secure && transport.plaintext },
    },
    `realtime node is up: ${publicUrl}/<APP_ID>`,
  );
} catch (error) {
  logger.fatal({ err: error }, `could not start: ${(error as Error).message}`);
  await stop();
  logger.flush();
  process.exit(1);
}
