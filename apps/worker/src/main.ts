import { BullMqJobQueue, connectRedis } from '@hubstream/cluster';
import { loadRoleConfigOrExit } from '@hubstream/config';
import { openDatabase, waitForSchema } from '@hubstream/db';
import {
  createLogger,
  listeningUrl,
  plainServerFactory,
  Registry,
  registerHealthRoutes,
  registerJobRuns,
  registerMetricsRoute,
  registerQueueDepth,
  requestTimeouts,
  stopOnSignals,
} from '@hubstream/service';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { createJobDefinitions } from './index.ts';

// `pnpm start:worker`: runs the queued jobs (emails, record persistence,
// usage roll-ups, app purges), one of the production roles; run several for
// more throughput. A small HTTP server answers GET /health and GET /ready
// on WORKER_HOST:WORKER_PORT. The control plane applies migrations; the
// worker waits until they are all in.

const config = loadRoleConfigOrExit('worker');
const { DATABASE_URL, REDIS_URL } = config;

const logger = createLogger({ level: config.LOG_LEVEL, name: 'hubstream-worker' });
const keyPrefix = config.REDIS_KEY_PREFIX ?? '';

const closers: (() => Promise<void>)[] = [];
let server: FastifyInstance | undefined;
const stop = async () => {
  await server?.close();
  // Jobs in progress finish (closers run in reverse: the queue before its resources).
  for (const close of closers.reverse()) await close().catch(() => {});
};
stopOnSignals({ logger, timeoutMs: config.SHUTDOWN_TIMEOUT_MS, stop });

try {
  const db = await openDatabase({ kind: 'postgres', url: DATABASE_URL });
  closers.push(() => db.close());
  await waitForSchema(db, logger);
  // The jobs' own connection (ledgers, purges, record batches); BullMQ has its own.
  const redis = connectRedis(REDIS_URL, logger);
  closers.push(async () => {
    await redis.quit();
  });
  const definitions = createJobDefinitions({ config, logger, prisma: db.prisma, redis });
  const jobs = new BullMqJobQueue({
    url: REDIS_URL,
    definitions,
    logger,
    process: true,
    prefix: `${keyPrefix}hs:bull`,
  });
  closers.push(() => jobs.close());
  await jobs.ready();

  const app = Fastify({
    loggerInstance: logger.child({ service: 'worker' }) as FastifyBaseLogger,
    // Like every listening port: a client slow to send its request is dropped.
    serverFactory: plainServerFactory(requestTimeouts(config)),
  });
  server = app;
  registerHealthRoutes(app, [
    { name: 'database', check: () => db.ping() },
    {
      name: 'redis',
      check: async () => {
        await redis.ping();
      },
    },
  ]);
  // GET /metrics: the queue's jobs by state, the runs this worker finished, and the process metrics.
  const metrics = new Registry();
  registerQueueDepth(metrics, () => jobs.counts());
  registerJobRuns(metrics, (observe) => jobs.onJobRun(observe));
  registerMetricsRoute(app, { registry: metrics, token: config.METRICS_TOKEN });
  await app.listen({ host: config.WORKER_HOST, port: config.WORKER_PORT });
  const workerUrl = listeningUrl(app, 'http');
  logger.info(
    { role: 'worker', jobs: definitions.map((d) => d.name), listening: { workerUrl } },
    `worker is up, running ${definitions.length} kinds of job; health on ${workerUrl}`,
  );
} catch (error) {
  logger.fatal({ err: error }, `could not start: ${(error as Error).message}`);
  await stop();
  logger.flush();
  process.exit(1);
}
