import type { FastifyInstance, LogLevel } from 'fastify';

export type ReadinessCheck = { name: string; check: () => Promise<void> };

/**
 * `GET /health`: the process is up and serving. `GET /ready`: every
 * dependency answers (the database, later Redis), so a load balancer may send
 * traffic. A failing check names itself but never leaks its error's details.
 */
export function registerHealthRoutes(app: FastifyInstance, checks: readonly ReadinessCheck[]) {
  // Probes hit these every few seconds: log only their failures (and never
  // more than the server's own level allows).
  const logLevel: LogLevel = ['info', 'debug', 'trace'].includes(app.log.level)
    ? 'warn'
    : (app.log.level as LogLevel);
  app.get('/health', { logLevel }, async () => ({ status: 'ok' }));

  app.get('/ready', { logLevel }, async (request, reply) => {
    const failed: string[] = [];
    await Promise.all(
      checks.map(async ({ name, check }) => {
        try {
          await check();
        } catch (error) {
          request.log.warn({ err: error, check: name }, 'readiness check failed');
          failed.push(name);
        }
      }),
    );
    if (failed.length === 0) return { status: 'ready' };
    return reply.code(503).send({
      error: {
        code: 'NOT_READY',
        message: `Not ready: ${failed.sort().join(', ')} did not answer.`,
        details: failed.map((name) => ({ check: name })),
      },
    });
  });
}
