import type { FastifyInstance } from 'fastify';

/** One call of a node's HTTP data API: the caller's credential and the JSON body. */
export type DataApiRequest = { authorization: string; body: string };

/**
 * A realtime node in this process (the standalone server, tests): its data
 * API (POST /<appId>/api, docs/data-api.md) called through Fastify's inject,
 * with no socket, port or TLS between. `node()` is asked on each call, so it
 * may be built after its caller (the control plane's data browser).
 */
export function injectTransport(
  node: () => FastifyInstance | undefined,
): (appId: string, request: DataApiRequest) => Promise<{ status: number; text: string }> {
  return async (appId, request) => {
    const server = node();
    if (!server) throw new Error('the realtime node has not started');
    const response = await server.inject({
      method: 'POST',
      url: `/${encodeURIComponent(appId)}/api`,
      headers: { 'content-type': 'application/json', authorization: request.authorization },
      payload: request.body,
    });
    return { status: response.statusCode, text: response.body };
  };
}
