import { randomBytes } from 'node:crypto';
import path from 'node:path';
import {
  type ClusterBus,
  type ClusterChoice,
  connectRedis,
  type JobQueue,
  LocalBus,
  openRedisServices,
} from '@hubstream/cluster';
import { type Config, publicHttpUrl, publicRealtimeUrl } from '@hubstream/config';
import { type Database, openDatabase, remoteDatabase } from '@hubstream/db';
import { enqueueOnly, JOB_CONTRACTS } from '@hubstream/jobs';
import {
  buildApp as buildRealtime,
  injectTransport,
  prepareEmailLogin,
  UsageReporter,
  warmListenPatterns,
} from '@hubstream/realtime';
import {
  isLoopbackHost,
  type Logger,
  listeningAddress,
  listeningUrl,
  openServerTransport,
  resolveSelfSigned,
  type ServerTransport,
  startPasswordProcess,
  type ThreadCalls,
} from '@hubstream/service';
import type { FastifyInstance } from 'fastify';
import type { OpenedDatabase, OpenRequest } from './control-plane-thread.ts';
import { type ControlPlaneThread, startControlPlaneThread } from './thread.ts';
import { serveBridges, ThreadJobQueue } from './thread-bridges.ts';

export type Standalone = {
  /** Where the servers listen (actual ports, also when configured as 0). */
  controlPlaneUrl: string;
  realtimeUrl: string;
  /** The realtime node's TLS; reload() looks at its files now (the control plane's thread does its own). */
  tls: { realtime: ServerTransport };
  stop(): Promise<void>;
};

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
 * The main thread's bus and job queue: in-process (the bus here, the jobs
 * run in the control plane's thread), or Redis and BullMQ so that this
 * process can also share a deployment with the separate roles (jobs are
 * queued here and run in the control plane's thread, as by a worker).
 */
async function openCluster(
  choice: ClusterSetting,
  context: { config: Config; logger: Logger; calls: ThreadCalls; nodeId: string },
): Promise<Cluster> {
  const { config, logger, calls, nodeId } = context;
  const onHandlerError = (error: unknown) => logger.error({ err: error }, 'bus subscriber failed');
  switch (choice.kind) {
    case 'local': {
      const bus = new LocalBus({ nodeId, onHandlerError });
      return {
        bus,
        jobs: new ThreadJobQueue(calls),
        shared: { kind: 'local' },
        close: () => bus.close(),
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
          // Every job is defined so that enqueueing validates; none runs on this thread.
          definitions: enqueueOnly(JOB_CONTRACTS),
          logger,
          processJobs: false,
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
 * One process with the control plane, a realtime node and the worker's jobs
 * on embedded defaults: PGlite under DATA_DIR unless DATABASE_URL names a
 * Postgres; in-process bus and jobs unless REDIS_URL names a Redis. The
 * control plane and the database run in a thread of their own
 * (control-plane-thread.ts); the realtime node, the bus and the jobs on the
 * main thread, which uses the database through that thread.
 */
export async function startStandalone(
  settings: Config,
  logger: Logger,
  options: {
    /**
     * The control plane's thread, already started with `settings`: main.ts
     * starts it first, so that it loads its modules and opens the database
     * while this thread loads the realtime node's. By default started here.
     */
    thread?: ControlPlaneThread;
  } = {},
): Promise<Standalone> {
  // TLS first: a server that may not listen in plaintext says why before
  // anything opens. On loopback, TLS_SELF_SIGNED=auto makes (once) a local
  // CA and certificate into DATA_DIR/tls; each port then speaks TLS and,
  // there, plaintext too.
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
  const choice: ClusterSetting = config.REDIS_URL
    ? { kind: 'redis', url: config.REDIS_URL }
    : { kind: 'local' };
  const thread = options.thread ?? startControlPlaneThread(settings, logger);
  const { calls } = thread;
  let realtime: FastifyInstance | undefined;
  let db: Database | undefined;
  let bridges: { close(): void } | undefined;
  // Closed after the servers, in reverse order of creation.
  const closers: (() => Promise<void>)[] = [];
  let reporter: UsageReporter | undefined;
  const closeAll = async () => {
    // The registry forgets its apps on close: the reporter notes them first.
    await reporter?.sample().catch(() => {});
    await Promise.allSettled([realtime?.close(), calls.call('close')]);
    for (const close of closers.reverse()) await close().catch(() => {});
    await db?.close().catch(() => {});
    bridges?.close();
    // Last: the database, in the thread that opened it.
    await thread.stop();
  };
  // Unique per process: with Redis, the bus drops this node's own echoes by it.
  const nodeId = `standalone-${process.pid}-${randomBytes(3).toString('hex')}`;
  try {
    // The control plane's transport (TLS first), the database, its migrations and the jobs.
    const opened = await calls.call<OpenedDatabase>('open', {
      config,
      nodeId,
    } satisfies OpenRequest);
    logger.info(
      { database: opened.kind, applied: opened.applied, alreadyApplied: opened.alreadyApplied },
      opened.applied.length > 0
        ? `applied ${opened.applied.length} migration(s)`
        : 'database schema is up to date',
    );
    const realtimeTransport = await openServerTransport(
      config,
      { server: 'realtime node', host: config.REALTIME_HOST, hostVariable: 'REALTIME_HOST' },
      logger,
    );
    // On Postgres a pool of this thread's own. On PGlite the other thread's
    // database: in-process, the realtime node's few Prisma queries (model
    // methods) run on that thread's client, so this thread loads no query
    // compiler; with Redis the record store's persistence batches need all
    // of Prisma, a client here over calls (its compiler loads once the
    // servers listen, below).
    db =
      opened.kind === 'postgres' && config.DATABASE_URL
        ? await openDatabase({ kind: 'postgres', url: config.DATABASE_URL }, { warmUp: false })
        : await remoteDatabase(calls, opened.kind, {
            warmUp: false,
            prisma: choice.kind === 'local' ? 'forward' : 'adapter',
          });
    const { bus, jobs, shared, close } = await openCluster(choice, {
      config,
      logger,
      calls,
      nodeId,
    });
    closers.push(close);
    // The realtime node listens first: with REALTIME_PORT=0 its port is
    // known only then, and the control plane's app URLs must name it.
    const node = await buildRealtime({
      config,
      db,
      bus,
      jobs,
      logger,
      cluster: shared,
      serverFactory: realtimeTransport.serverFactory,
    });
    realtime = node;
    await node.listen({
      host: config.REALTIME_HOST,
      port: config.REALTIME_PORT,
      // Fastify's own line says "http://" whatever the transport; the banner
      // below names the real URLs, so this line names only the address.
      listenTextResolver: (address) =>
        `realtime listening on ${address.replace(/^[a-z]+:\/\//, '')}`,
    });
    // The data browser edits records through this process' realtime node,
    // in-process (no port, TLS or credential on the wire).
    bridges = serveBridges(calls, { bus, realtimeData: injectTransport(() => node) });
    const usage = new UsageReporter({
      nodeId,
      runtimes: () => node.hubstream.registry.loaded(),
      jobs,
      intervalMs: config.USAGE_REPORT_INTERVAL_MS,
      logger,
    });
    reporter = usage;
    // Runs before the queue closes (closers run in reverse), so the last report is queued.
    closers.push(() => usage.stop());
    const realtimeUrl = listeningUrl(node, realtimeTransport.secure ? 'wss' : 'ws');
    const controlPlaneUrl = await calls.call<string>('listen', listeningAddress(node).port);
    usage.start();
    // Not at the first LISTEN, in the middle of every app's traffic (listen-pattern.ts).
    warmListenPatterns();
    // Nor at the first email login: the password process (spawning forks this
    // process, ~15 ms with the event loop stopped) and the login's statement.
    startPasswordProcess();
    void prepareEmailLogin(db.sql);
    // The dashboard's first sign-in needs it. A failure is left for that query to report.
    db.prisma.$connect().catch(() => {});

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
        database: opened.kind,
        dashboard: publicHttp,
        realtime: publicRealtime,
        plaintextToo: realtimeTransport.secure && realtimeTransport.plaintext,
      }),
    );
    // From here a death of the control plane's thread is the process' end.
    thread.onEnd((error) => {
      logger.fatal({ err: error }, error.message);
      logger.flush();
      process.exit(1);
    });

    return {
      controlPlaneUrl,
      realtimeUrl,
      tls: { realtime: realtimeTransport },
      // Stop taking new work first, let queued jobs finish, then release the database.
      stop: closeAll,
    };
  } catch (error) {
    await closeAll();
    throw error;
  }
}
