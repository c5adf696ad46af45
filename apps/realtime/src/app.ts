import { randomUUID } from 'node:crypto';
import type { Database } from '@hubstream/db';
import { type Logger, registerHealthRoutes } from '@hubstream/service';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';

export type RealtimeOptions = {
  db: Database;
  logger: Logger;
};

/** A realtime node's server, not yet listening. */
export async function buildApp(options: RealtimeOptions): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: options.logger.child({ service: 'realtime' }) as FastifyBaseLogger,
    genReqId: () => randomUUID(),
    requestIdHeader: false,
  });
  registerHealthRoutes(app, [{ name: 'database', check: () => options.db.ping() }]);
  return app;
}
