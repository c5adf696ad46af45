import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { openRedisServices } from '@hubstream/cluster';
import { loadRoleConfigOrExit, publicHttpUrl } from '@hubstream/config';
import { openDatabase } from '@hubstream/db';
import { enqueueOnly, JOB_CONTRACTS } from '@hubstream/jobs';
import { createLogger, listeningUrl, openRoleTransport, stopOnSignals } from '@hubstream/service';
import type { FastifyInstance } from 'fastify';
import { buildApp } from './app.ts';

// `pnpm start:control-plane`: the control plane on its own, one of the
// production roles next to realtime nodes and workers. It is the role that
// applies database migrations; the others wait for them. It only queues
// jobs: workers run them.

const roleConfig = loadRoleConfigOrExit('control-plane');
const { DATABASE_URL, REDIS_URL } = roleConfig;

const logger = createLogger({ level: roleConfig.LOG_LEVEL, name: 'hubstream-control-plane' });
const nodeId = `control-plane-${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
const keyPrefix = roleConfig.REDIS_KEY_PREFIX ?? '';
let config = roleConfig;

// Closed in reverse order of opening, also when a signal comes mid-start.
const closers: (() => Promise<void>)[] = [];
let server: FastifyInstance | undefined;
const stop = async () => {
  await server?.close();
  for (const close of closers.reverse()) await close().catch(() => {});
};
stopOnSignals({ logger, timeoutMs: config.SHUTDOWN_TIMEOUT_MS, stop });

try {
  // TLS (or the proof that plaintext is fine here) before anything opens:
  // a server that may not listen says why at once.
  const role = await openRoleTransport(
    roleConfig,
    { server: 'control plane', host: roleConfig.HTTP_HOST, hostVariable: 'HTTP_HOST' },
    logger,
  );
  config = role.config;
  const { transport } = role;
  const db = await openDatabase({ kind: 'postgres', url: DATABASE_URL });
  closers.push(() => db.close());
  // Migrations and the Redis connect at the same time (a faster start).
  const migrating = db.migrate();
  // Every job is defined so that enqueueing validates; none runs here.
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
  const [report, { bus, jobs }] = await Promise.all([migrating, opening]);
  logger.info(
    { database: 'postgres', applied: report.applied, alreadyApplied: report.alreadyApplied.length },
    report.applied.length > 0
      ? `applied ${report.applied.length} migration(s)`
      : 'database schema is up to date',
  );

  server = await buildApp({
    config,
    db,
    bus,
    jobs,
    logger,
    serverFactory: transport.serverFactory,
  });
  await server.listen({ host: config.HTTP_HOST, port: config.HTTP_PORT });
  const controlPlaneUrl = listeningUrl(server, transport.secure ? 'https' : 'http');
  const publicUrl = config.PUBLIC_HTTP_URL ? publicHttpUrl(config) : controlPlaneUrl;
  logger.info(
    {
      role: 'control-plane',
      nodeId,
      listening: { controlPlaneUrl },
      tls: { on: transport.secure, plaintextToo: transport.secure && transport.plaintext },
    },
    `control plane is up on ${publicUrl}`,
  );
} catch (error) {
  logger.fatal({ err: error }, `could not start: ${(error as Error).message}`);
  await stop();
  logger.flush();
  process.exit(1);
}
