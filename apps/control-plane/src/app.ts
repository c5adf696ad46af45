import { randomUUID } from 'node:crypto';
import type { Database } from '@hubstream/db';
import { type Logger, registerHealthRoutes } from '@hubstream/service';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';

export type ControlPlaneOptions = {
  db: Database;
  logger: Logger;
};

/** The control plane's HTTP server, not yet listening. */
export async function buildApp(options: ControlPlaneOptions): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: options.logger.child({ service: 'control-plane' }) as FastifyBaseLogger,
    genReqId: () => randomUUID(),
    requestIdHeader: false,
  });
  registerHealthRoutes(app, [{ name: 'database', check: () => options.db.ping() }]);
  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send({
      error: {
        code: 'NOT_FOUND',
        message: `No route for ${request.method} ${request.url}.`,
        details: [],
      },
    }),
  );
  return app;
}
