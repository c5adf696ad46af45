import type { FastifyInstance } from 'fastify';

// One line per request, written once it is answered, in place of Fastify's
// two (incoming request, request completed). A refusal of the client's own
// input (4xx) is a debug line: anyone can send malformed requests, and each
// line is a synchronous write on the event loop, which in `pnpm start` the
// realtime node's clients share (bench:attacks, malformed control-plane
// input: 3,200 lines for 1,600 requests took 740 ms of a 3.9 s window,
// 40% of the process's busy time, and the other app's p99 went 2 -> 11 ms).
// Answers of 2xx/3xx and the server's own failures (5xx) stay at info.

export function registerRequestLog(app: FastifyInstance): void {
  app.addHook('onResponse', (request, reply, done) => {
    const line = { req: request, res: reply, responseTime: reply.elapsedTime };
    if (reply.statusCode >= 400 && reply.statusCode < 500) {
      request.log.debug(line, 'request completed');
    } else request.log.info(line, 'request completed');
    done();
  });
}
