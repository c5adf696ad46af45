import type { FastifyInstance } from 'fastify';

/** Where a listening server is: its address and port (actual, also when configured as 0). */
export function listeningAddress(server: FastifyInstance): { host: string; port: number } {
  const address = server.server.address();
  if (address === null || typeof address === 'string') throw new Error('server is not listening');
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return { host, port: address.port };
}

/** `scheme://host:port` of a listening server. */
export function listeningUrl(server: FastifyInstance, scheme: string): string {
  const { host, port } = listeningAddress(server);
  return `${scheme}://${host}:${port}`;
}
