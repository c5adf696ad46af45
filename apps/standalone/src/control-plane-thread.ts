// The control plane's thread of `pnpm start` (a worker thread, started by
// standalone.ts): the control plane's HTTP server, the database (PGlite, or
// a pool of its own on Postgres) and the jobs run here, beside the realtime
// node's event loop instead of on it. A control-plane request (routing,
// checks, its statements in PGlite's WebAssembly) took ~0.25 ms of the one
// event loop every app's clients wait on: bench:attacks' malformed
// control-plane input doubled another app's p99. The main thread drives
// this one through calls (ThreadCalls): open, listen, close, shutdown; it
// uses the database and the job queue served from here (remote.ts in
// @hubstream/db, thread-bridges.ts), and this thread its in-process bus and
// realtime node. With REDIS_URL this thread is a control plane and a worker
// of the deployment in their own right (a bus and BullMQ of their own).

import { parentPort, workerData } from 'node:worker_threads';
import type { ClusterBus, JobQueue } from '@hubstream/cluster';
import type { Config } from '@hubstream/config';
import { type Database, databaseOptionsFor, openDatabase, serveDatabase } from '@hubstream/db';
import {
  createLogger,
  type Logger,
  type LogLevel,
  listeningUrl,
  openServerTransport,
  type ServerTransport,
  ThreadCalls,
} from '@hubstream/service';
import type { FastifyInstance } from 'fastify';
import { serveJobs, ThreadBus, threadRealtimeData } from './thread-bridges.ts';

/** What thread.ts hands this thread when it starts it. */
export type ControlPlaneThreadData = {
  /** As loaded: the database opens from them (DATA_DIR, DATABASE_URL). */
  settings: Config;
  /** Open the database as the thread starts, not at `open` (main.ts: a faster start). */
  openAtOnce: boolean;
  log: { level: LogLevel; pretty: boolean };
};

/**
 * What `open` is told: the settings as standalone.ts resolved them (TLS),
 * and the main thread's node id (its bus, when in-process).
 */
export type OpenRequest = { config: Config; nodeId: string };

/** What `open` answers. */
export type OpenedDatabase = {
  kind: Database['kind'];
  applied: string[];
  alreadyApplied: number;
};

/** The bus and job queue of this thread, and what closes them. */
type ThreadCluster = { bus: ClusterBus; jobs: JobQueue; close(): Promise<void> };

/**
 * In-process: the main thread's bus, and the jobs run here (inline). With
 * Redis: this thread's own bus and BullMQ, which runs the deployment's jobs,
 * as the worker role does.
 */
async function openThreadCluster(
  config: Config,
  context: { logger: Logger; db: Database; calls: ThreadCalls; nodeId: string },
): Promise<ThreadCluster> {
  const { logger, db, calls, nodeId } = context;
  const [{ connectRedis, InlineJobQueue, openRedisServices }, { createJobDefinitions }] =
    await Promise.all([import('@hubstream/cluster'), import('@hubstream/worker')]);
  if (!config.REDIS_URL) {
    const bus = new ThreadBus(
      calls,
      { nodeId, isClustered: false },
      { onHandlerError: (error) => logger.error({ err: error }, 'bus subscriber failed') },
    );
    const jobs = new InlineJobQueue(
      createJobDefinitions({ config, logger, prisma: db.prisma, logMailLinks: true }),
      logger,
    );
    return clusterOf(bus, jobs);
  }
  const redis = connectRedis(config.REDIS_URL, logger);
  try {
    const { bus, jobs } = await openRedisServices({
      url: config.REDIS_URL,
      keyPrefix: config.REDIS_KEY_PREFIX ?? '',
      // Its own node on the bus: the main thread's drops only its own echoes.
      nodeId: `${nodeId}-control-plane`,
      definitions: createJobDefinitions({
        config,
        logger,
        prisma: db.prisma,
        redis,
        logMailLinks: true,
      }),
      logger,
      processJobs: true,
    });
    return clusterOf(bus, jobs, () => redis.quit());
  } catch (error) {
    await redis.quit().catch(() => {});
    throw error;
  }
}

/** The queued jobs finish, then the bus closes, then `after` (the Redis connection). */
function clusterOf(bus: ClusterBus, jobs: JobQueue, after?: () => Promise<unknown>): ThreadCluster {
  return {
    bus,
    jobs,
    async close() {
      await jobs.close();
      await bus.close();
      await after?.();
    },
  };
}

if (!parentPort)
  throw new Error('control-plane-thread.ts runs as a worker thread of standalone.ts');
const data = workerData as ControlPlaneThreadData;
const logger = createLogger({ level: data.log.level, name: 'hubstream', pretty: data.log.pretty });
const calls = new ThreadCalls(parentPort, {
  onNoteError: (error, method) => logger.error({ err: error, method }, 'thread call failed'),
});

// With openAtOnce (main.ts) the database opens first, and the control
// plane's modules load while it waits on its files and compiles its
// WebAssembly; otherwise `open` opens it once the transport's check passed.
let opening: Promise<Database> | undefined;
const openTheDatabase = () => {
  opening ??= openDatabase(databaseOptionsFor(data.settings));
  return opening;
};
// Until `open` takes it: a failure is reported there, not unhandled.
if (data.openAtOnce) openTheDatabase().catch(() => {});
const loading = import('@hubstream/control-plane');
loading.catch(() => {});

let config: Config = data.settings;
let transport: ServerTransport | undefined;
let db: Database | undefined;
let served: { abandon(): Promise<void> } | undefined;
let cluster: ThreadCluster | undefined;
let server: FastifyInstance | undefined;

// TLS first (a server that may not listen in plaintext says why before it
// serves anything), then the database, its migrations and the jobs.
calls.handle('open', async (request: OpenRequest): Promise<OpenedDatabase> => {
  config = request.config;
  const { nodeId } = request;
  transport = await openServerTransport(
    config,
    { server: 'control plane', host: config.HTTP_HOST, hostVariable: 'HTTP_HOST' },
    logger,
  );
  db = await openTheDatabase();
  if (db.driverAdapter) served = serveDatabase(db, db.driverAdapter, calls);
  const report = await db.migrate();
  cluster = await openThreadCluster(config, { logger, db, calls, nodeId });
  serveJobs(calls, cluster.jobs);
  return {
    kind: db.kind,
    applied: report.applied,
    alreadyApplied: report.alreadyApplied.length,
  };
});

/** `realtimePort`: where the realtime node really listens (REALTIME_PORT=0), for the app URLs. */
calls.handle('listen', async (realtimePort: number): Promise<string> => {
  if (!db || !transport || !cluster) throw new Error('listen before open');
  const withPort =
    config.REALTIME_PORT === 0
      ? (Object.freeze({ ...config, REALTIME_PORT: realtimePort }) as Config)
      : config;
  const { buildApp } = await loading;
  server = await buildApp({
    config: withPort,
    db,
    bus: cluster.bus,
    jobs: cluster.jobs,
    logger,
    serverFactory: transport.serverFactory,
    realtimeData: threadRealtimeData(calls),
  });
  await server.listen({
    host: config.HTTP_HOST,
    port: config.HTTP_PORT,
    // Fastify's own line says "http://" whatever the transport (standalone.ts' banner names URLs).
    listenTextResolver: (address) =>
      `control plane listening on ${address.replace(/^[a-z]+:\/\//, '')}`,
  });
  return listeningUrl(server, transport.secure ? 'https' : 'http');
});

/** Stops taking requests and finishes those in flight (the jobs and the database go on). */
calls.handle('close', async () => {
  await server?.close();
});

/** Last, once the main thread is done with them: the queued jobs finish, then the database closes. */
calls.handle('shutdown', async () => {
  await cluster?.close().catch((error: unknown) => logger.error({ err: error }, 'closing jobs'));
  await served?.abandon();
  // Also when `open` never took it (a start that failed before): its data directory is unlocked.
  await (db ?? (await opening?.catch(() => undefined)))?.close();
  db = undefined;
});
