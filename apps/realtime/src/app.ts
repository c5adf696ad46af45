import { randomUUID } from 'node:crypto';
import { type ClusterBus, LocalPresenceRegistry, type PresenceRegistry } from '@hubstream/cluster';
import type { Config } from '@hubstream/config';
import type { Database } from '@hubstream/db';
import { type Logger, registerHealthRoutes } from '@hubstream/service';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { AppRegistry } from './core/app-registry.ts';
import type { NodeServices } from './core/app-runtime.ts';
import { nodeSettings } from './core/settings.ts';
import { registerGateway } from './gateway/websocket.ts';
import { LocalRecordStore } from './records/local-record-store.ts';

declare module 'fastify' {
  interface FastifyInstance {
    hubstream: { registry: AppRegistry };
  }
}

export type RealtimeOptions = {
  config: Config;
  db: Database;
  bus: ClusterBus;
  logger: Logger;
  /** Cluster-wide presence; in-process when alone. */
  presence?: PresenceRegistry;
};

/** A realtime node's server, not yet listening. */
export async function buildApp(options: RealtimeOptions): Promise<FastifyInstance> {
  const log = options.logger.child({ service: 'realtime' });
  const app = Fastify({
    loggerInstance: log as FastifyBaseLogger,
    genReqId: () => randomUUID(),
    requestIdHeader: false,
  });
  const settings = nodeSettings(options.config);
  const records = new LocalRecordStore(options.db.prisma, log);
  const node: NodeServices = {
    prisma: options.db.prisma,
    settings,
    log,
    records,
    bus: options.bus,
    presence: options.presence ?? new LocalPresenceRegistry(),
  };
  const registry = new AppRegistry(node, options.bus);

  // The node's state, for metrics and for tests that wait on it.
  app.decorate('hubstream', { registry });
  registerHealthRoutes(app, [{ name: 'database', check: () => options.db.ping() }]);
  await registerGateway(app, registry, settings);
  app.addHook('preClose', async () => {
    await registry.close();
  });
  app.addHook('onClose', async () => {
    await records.close();
  });
  return app;
}
