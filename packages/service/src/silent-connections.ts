import type { Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';

/**
 * Ends, when the server starts closing, the connections that have not sent
 * a byte. Node's closeIdleConnections() leaves a connection with no request
 * yet open (it is not idle to Node), so server.close() waited for its
 * headers timeout: a client that opened a socket and said nothing (undici
 * does so beside an aborted stream) held a shutdown for about 60 s.
 */
export function closeSilentConnections(app: FastifyInstance): void {
  const open = new Set<Socket>();
  app.server.on('connection', (socket: Socket) => {
    open.add(socket);
    socket.once('close', () => open.delete(socket));
  });
  app.addHook('preClose', async () => {
    for (const socket of open) if (socket.bytesRead === 0) socket.destroy();
  });
}
