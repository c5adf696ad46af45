import { InlineJobQueue, LocalBus } from '@hubstream/cluster';
import { type Config, publicHttpUrl, publicRealtimeUrl } from '@hubstream/config';
import { buildApp as buildControlPlane } from '@hubstream/control-plane';
import { databaseOptionsFor, openDatabase } from '@hubstream/db';
import { buildApp as buildRealtime } from '@hubstream/realtime';
import type { Logger } from '@hubstream/service';
// Imported by path until this package declares @hubstream/worker as a dependency.
import { createJobDefinitions } from '@hubstream/worker';
import type { FastifyInstance } from 'fastify';

export type Standalone = {
  /** Where the servers listen (actual ports, also when configured as 0). */
  controlPlaneUrl: string;
  realtimeUrl: string;
  stop(): Promise<void>;
};

function listeningUrl(server: FastifyInstance, scheme: string): string {
  const address = server.server.address();
  if (address === null || typeof address === 'string') throw new Error('server is not listening');
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return `${scheme}://${host}:${address.port}`;
}

/**
 * One process with the control plane and a realtime node on embedded
 * defaults: PGlite under DATA_DIR unless DATABASE_URL names a Postgres.
 */
export async function startStandalone(config: Config, logger: Logger): Promise<Standalone> {
  if (config.REDIS_URL) {
    logger.warn(
      'REDIS_URL is set, but this version keeps cluster state in-process: run one node only.',
    );
  }
  const dbOptions = databaseOptionsFor(config);
  const db = await openDatabase(dbOptions);
  const servers: FastifyInstance[] = [];
  // Closed after the servers, in reverse order of creation.
  const closers: (() => Promise<void>)[] = [];
  const closeAll = async () => {
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
    const bus = new LocalBus({
      nodeId: `standalone-${process.pid}`,
      onHandlerError: (error) => logger.error({ err: error }, 'bus subscriber failed'),
    });
    closers.push(() => bus.close());
    const jobs = new InlineJobQueue(createJobDefinitions({ config, logger }), logger);
    closers.push(() => jobs.close());
    const controlPlane = await buildControlPlane({ config, db, bus, jobs, logger });
    servers.push(controlPlane);
    const realtime = await buildRealtime({ config, db, bus, logger });
    servers.push(realtime);
    await controlPlane.listen({ host: config.HTTP_HOST, port: config.HTTP_PORT });
    await realtime.listen({ host: config.REALTIME_HOST, port: config.REALTIME_PORT });

    const controlPlaneUrl = listeningUrl(controlPlane, 'http');
    const realtimeUrl = listeningUrl(realtime, 'ws');
    // With port 0 the public defaults would name the wrong port: show what
    // is really listening unless the operator set the public URLs.
    const publicHttp = config.PUBLIC_HTTP_URL ? publicHttpUrl(config) : controlPlaneUrl;
    const publicRealtime = config.PUBLIC_REALTIME_URL ? publicRealtimeUrl(config) : realtimeUrl;
    logger.info(
      {
        controlPlaneUrl: publicHttp,
        realtimeUrl: publicRealtime,
        listening: { controlPlaneUrl, realtimeUrl },
      },
      `Hubstream is up. Control plane: ${publicHttp}  Realtime: ${publicRealtime}/<APP_ID>`,
    );

    return {
      controlPlaneUrl,
      realtimeUrl,
      // Stop taking new work first, let queued jobs finish, then release the database.
      stop: closeAll,
    };
  } catch (error) {
    await closeAll();
    throw error;
  }
}
