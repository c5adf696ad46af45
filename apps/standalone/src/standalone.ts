import { randomBytes } from 'node:crypto';
import path from 'node:path';
import {
  type ClusterBus,
  type ClusterChoice,
  connectRedis,
  InlineJobQueue,
  type JobQueue,
  LocalBus,
  openRedisServices,
} from '@hubstream/cluster';
import { type Config, publicHttpUrl, publicRealtimeUrl } from '@hubstream/config';
import { buildApp as buildControlPlane, injectTransport } from '@hubstream/control-plane';
import { type Database, databaseOptionsFor, openDatabase } from '@hubstream/db';
import {
  buildApp as buildRealtime,
  prepareEmailLogin,
  UsageReporter,
  warmListenPatterns,
} from '@hubstream/realtime';
import {
  isLoopbackHost,
  type Logger,
  openServerTransport,
  resolveSelfSigned,
  type ServerTransport,
  startPasswordProcess,
} from '@hubstream/service';
import { createJobDefinitions } from '@hubstream/worker';
import type { FastifyInstance } from 'fastify';

export type Standalone = {
  /** Where the servers listen (actual ports, also when configured as 0). */
  controlPlaneUrl: string;
  realtimeUrl: string;
  /** The servers' TLS (both share one certificate); reload() looks at its files now. */
  tls: { controlPlane: ServerTransport; realtime: ServerTransport };
  stop(): Promise<void>;
};

function listeningUrl(server: FastifyInstance, scheme: string): string {
  const address = server.server.address();
  if (address === null || typeof address === 'string') throw new Error('server is not listening');
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return `${scheme}://${host}:${address.port}`;
}

/**
 * The config the control plane gets: with REALTIME_PORT=0 the port the
 * realtime node really listens on, so that the default public realtime URL
 * (and every app URL built from it) names that port, not 0.
 */
function withRealtimePort(config: Config, realtime: FastifyInstance): Config {
  const address = realtime.server.address();
  if (config.REALTIME_PORT !== 0 || address === null || typeof address === 'string') return config;
  return Object.freeze({ ...config, REALTIME_PORT: address.port }) as Config;
}

/** Where cross-process state lives, chosen once from REDIS_URL. */
type ClusterSetting = { kind: 'local' } | { kind: 'redis'; url: string };

type Cluster = {
  bus: ClusterBus;
  jobs: JobQueue;
  /** The realtime node's cross-node state: in-process, or in the Redis opened here. */
  shared: ClusterChoice;
  close(): Promise<void>;
};

/**
 * The bus and job queue: in-process on their own, or Redis and BullMQ so
 * that this process can also share a deployment with the separate roles.
 * Either way this process runs jobs too.
 */
async function openCluster(
  choice: ClusterSetting,
  context: { config: Config; logger: Logger; db: Database; nodeId: string },
): Promise<Cluster> {
  const { config, logger, db, nodeId } = context;
  const onHandlerError = (error: unknown) => logger.error({ err: error }, 'bus subscriber failed');
  switch (choice.kind) {
    case 'local': {
      const bus = new LocalBus({ nodeId, onHandlerError });
      const definitions = createJobDefinitions({
        config,
        logger,
        prisma: db.prisma,
        logMailLinks: true,
      });
      const jobs = new InlineJobQueue(definitions, logger);
      return {
        bus,
        jobs,
        shared: { kind: 'local' },
        async close() {
          await jobs.close();
          await bus.close();
        },
      };
    }
    case 'redis': {
      const keyPrefix = config.REDIS_KEY_PREFIX ?? '';
      const redis = connectRedis(choice.url, logger);
      let services: Awaited<ReturnType<typeof openRedisServices>>;
      try {
        services = await openRedisServices({
          url: choice.url,
          keyPrefix,
          nodeId,
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
      } catch (error) {
        await redis.quit().catch(() => {});
        throw error;
      }
      const { bus, jobs } = services;
      const close = async () => {
        await jobs.close();
        await bus.close();
        await redis.quit();
      };
      return { bus, jobs, shared: { kind: 'redis', connection: redis, keyPrefix }, close };
    }
    default: {
      const unknown: never = choice;
      throw new Error(`Unknown cluster choice: ${JSON.stringify(unknown)}`);
    }
  }
}

/** The "Hubstream is up" message: everything a developer needs next, one line each. */
function banner(context: {
  config: Config;
  database: string;
  dashboard: string;
  realtime: string;
  plaintextToo: boolean;
}): string {
  const { config } = context;
  const dataDir = path.resolve(config.DATA_DIR);
  const lines = [
    'Hubstream is up.',
    `  Dashboard:  ${context.dashboard}`,
    `  Realtime:   ${context.realtime}/<APP_ID>` +
      (context.plaintextToo ? '  (plain http:// and ws:// answer on the same ports too)' : ''),
    context.database === 'postgres'
      ? `  Data:       Postgres at DATABASE_URL; files in ${dataDir}`
      : `  Data:       ${dataDir}`,
  ];
  if (config.TLS_SELF_SIGNED === 'true') {
    const ca = path.join(dataDir, 'tls', 'ca.pem');
    lines.push(
      `  Trust CA:   ${ca}  (Node: NODE_EXTRA_CA_CERTS=${ca}; browsers: import it as a certificate authority)`,
    );
  }
  lines.push(
    config.SMTP_URL
      ? '  Mail:       sent through SMTP_URL'
      : `  Mail:       written to ${path.join(dataDir, 'outbox')} (links are logged too)`,
    '  Stop:       Ctrl-C',
  );
  return lines.join('\n');
}

/**
 * WEBHOOK_ALLOW_PRIVATE_ADDRESSES for `pnpm start`: on loopback this is a
 * developer's machine and their auth webhook runs there too, so `auto`
 * allows private addresses; on any other address (and in the separate
 * roles, which never call this) `auto` keeps the guard on.
 */
export function standaloneWebhookGuard(
  config: Pick<Config, 'HTTP_HOST' | 'REALTIME_HOST' | 'WEBHOOK_ALLOW_PRIVATE_ADDRESSES'>,
): 'true' | 'false' {
  const setting: string = config.WEBHOOK_ALLOW_PRIVATE_ADDRESSES;
  if (setting === 'true' || setting === 'false') return setting;
  return [config.HTTP_HOST, config.REALTIME_HOST].every(isLoopbackHost) ? 'true' : 'false';
}

/**
 * TLS first: a server that may not listen in plaintext says why before
 * anything opens. On loopback, TLS_SELF_SIGNED=auto makes (once) a local CA
 * and certificate into DATA_DIR/tls; each port then speaks TLS and, there,
 * plaintext too.
 */
async function openTransports(settings: Config, logger: Logger) {
  const resolved = await resolveSelfSigned(settings, {
    standalone: true,
    hosts: [settings.HTTP_HOST, settings.REALTIME_HOST],
    logger,
  });
  const config = {
    ...resolved,
    WEBHOOK_ALLOW_PRIVATE_ADDRESSES: standaloneWebhookGuard(resolved),
    // (oneOf's literal union reads as never in Config's static type.)
  } as Config;
  const controlPlaneTransport = await openServerTransport(
    config,
    { server: 'control plane', host: config.HTTP_HOST, hostVariable: 'HTTP_HOST' },
    logger,
  );
  const realtimeTransport = await openServerTransport(
    config,
    { server: 'realtime node', host: config.REALTIME_HOST, hostVariable: 'REALTIME_HOST' },
    logger,
  );
  return { config, controlPlaneTransport, realtimeTransport };
}
/**
 * One process with the control plane, a realtime node and the worker's jobs
 * on embedded defaults: PGlite under DATA_DIR unless DATABASE_URL names a
 * Postgres; in-process bus and jobs unless REDIS_URL names a Redis.
 */
export async function startStandalone(
  settings: Config,
  logger: Logger,
  options: {
    /**
     * The database, already opening: main.ts opens it while the servers'
     * modules load (start time). By default it is opened here.
     */
    database?: Promise<Database>;
  } = {},
): Promise<Standalone> {
  let transports: Awaited<ReturnType<typeof openTransports>>;
  try {
    transports = await openTransports(settings, logger);
  } catch (error) {
    // A database opened for us is closed too (its data-dir lock released).
    await options.database?.then((db) => db.close()).catch(() => {});
    throw error;
  }
  const { config, controlPlaneTransport, realtimeTransport } = transports;
  const choice: ClusterSetting = config.REDIS_URL
    ? { kind: 'redis', url: config.REDIS_URL }
    : { kind: 'local' };
  const dbOptions = databaseOptionsFor(config);
  const db = await (options.database ?? openDatabase(dbOptions));
  const servers: FastifyInstance[] = [];
  // Closed after the servers, in reverse order of creation.
  const closers: (() => Promise<void>)[] = [];
  let reporter: UsageReporter | undefined;
  const closeAll = async () => {
    // The registry forgets its apps on close: the reporter notes them first.
    await reporter?.sample().catch(() => {});
    await Promise.allSettled(servers.map((s) => s.close()));
    for (const close of closers.reverse()) await close().catch(() => {});
    await db.close();
  };
  try {
    const report = await db.migrate();
    logger.info(
      {
        database: dbOptions.kind,
        applied: report.applied,
        alreadyApplied: report.alreadyApplied.length,
      },
      report.applied.length > 0
        ? `applied ${report.applied.length} migration(s)`
        : 'database schema is up to date',
    );
    // Unique per process: with Redis, the bus drops this node's own echoes by it.
    const nodeId = `standalone-${process.pid}-${randomBytes(3).toString('hex')}`;
    const { bus, jobs, shared, close } = await openCluster(choice, {
      config,
      logger,
      db,
      nodeId,
    });
    closers.push(close);
    // The realtime node listens first: with REALTIME_PORT=0 its port is
    // known only then, and the control plane's app URLs must name it.
    const realtime = await buildRealtime({
      config,
      db,
      bus,
      jobs,
      logger,
      cluster: shared,
      serverFactory: realtimeTransport.serverFactory,
    });
    servers.push(realtime);
    // Fastify's own line says "http://" whatever the transport; the banner
    // below names the real URLs, so these lines name only the address.
    const listening = (role: string) => (address: string) =>
      `${role} listening on ${address.replace(/^[a-z]+:\/\//, '')}`;
    await realtime.listen({
      host: config.REALTIME_HOST,
      port: config.REALTIME_PORT,
      listenTextResolver: listening('realtime'),
    });
    const controlPlane = await buildControlPlane({
      config: withRealtimePort(config, realtime),
      db,
      bus,
      jobs,
      logger,
      serverFactory: controlPlaneTransport.serverFactory,
      // The data browser edits records through this process' realtime node,
      // in-process (no port, TLS or credential on the wire).
      realtimeData: injectTransport(() => realtime),
    });
    servers.push(controlPlane);
    const usage = new UsageReporter({
      nodeId,
      runtimes: () => realtime.hubstream.registry.loaded(),
      jobs,
      intervalMs: config.USAGE_REPORT_INTERVAL_MS,
      logger,
    });
    reporter = usage;
    // Runs before the queue closes (closers run in reverse), so the last report is queued.
    closers.push(() => usage.stop());
    await controlPlane.listen({
      host: config.HTTP_HOST,
      port: config.HTTP_PORT,
      listenTextResolver: listening('control plane'),
    });
    usage.start();
    // Not at the first LISTEN, in the middle of every app's traffic (listen-pattern.ts).
    warmListenPatterns();
    // Nor at the first email login: the password process (spawning forks this
    // process, ~15 ms with the event loop stopped) and the login's statement.
    startPasswordProcess();
    void prepareEmailLogin(db.sql);

    const controlPlaneUrl = listeningUrl(
      controlPlane,
      controlPlaneTransport.secure ? 'https' : 'http',
    );
    const realtimeUrl = listeningUrl(realtime, realtimeTransport.secure ? 'wss' : 'ws');
    // With port 0 the public defaults would name the wrong port: show what
    // is really listening unless the operator set the public URLs.
    const publicHttp = config.PUBLIC_HTTP_URL ? publicHttpUrl(config) : controlPlaneUrl;
    const publicRealtime = config.PUBLIC_REALTIME_URL ? publicRealtimeUrl(config) : realtimeUrl;
    logger.info(
      {
        cluster: choice.kind,
        controlPlaneUrl: publicHttp,
        realtimeUrl: publicRealtime,
        listening: { controlPlaneUrl, realtimeUrl },
        tls: {
          on: realtimeTransport.secure,
          plaintextToo: realtimeTransport.secure && realtimeTransport.plaintext,
        },
      },
      banner({
        config,
        database: dbOptions.kind,
        dashboard: publicHttp,
        realtime: publicRealtime,
        plaintextToo: realtimeTransport.secure && realtimeTransport.plaintext,
      }),
    );

    return {
      controlPlaneUrl,
      realtimeUrl,
      tls: { controlPlane: controlPlaneTransport, realtime: realtimeTransport },
      // Stop taking new work first, let queued jobs finish, then release the database.
      stop: closeAll,
    };
  } catch (error) {
    await closeAll();
    throw error;
  }
}
