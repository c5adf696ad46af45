import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { publicRealtimeUrl } from '@hubstream/config';
import { compileRegex, limits } from '@hubstream/valve';
import type { FastifyRequest } from 'fastify';
import Type from 'typebox';
import { type ControlPlaneContext, SESSION_COOKIE } from '../../context.ts';
import { ApiError } from '../../errors.ts';
import { realtimeHttpUrl } from '../../lib/api-docs.ts';
import { AppIdParams, ErrorReply, errors } from '../../lib/schemas.ts';
import { isOwnOrigin } from '../../plugins/security.ts';
import {
  DASHBOARD_USER_ID,
  type DataResult,
  fetchTransport,
  RealtimeData,
} from '../records/realtime-data.ts';
import { ConsoleHub, type ConsoleItem, MAX_BUFFERED_BYTES } from './hub.ts';
import { activeRuleLines, stillAllowed } from './service.ts';

// The dashboard's live console (issue 18 item 3), for one app:
//   GET  /v1/apps/:id/console/stream   Server-Sent Events: the events the
//        console subscribed to (names and listen-style patterns), presence and
//        connections per node, denials with their rule, failed logins;
//   POST /v1/apps/:id/console/events   publish an event;
//   POST /v1/apps/:id/console/rpc      make an RPC and get its answer.
//
// Why SSE and two POSTs, not a WebSocket: what flows to the browser is a
// feed, and what the developer sends is a request with an answer, which is
// what HTTP already does, with the schemas, OpenAPI, the same cookie, access
// checks and cross-site protection as every other route (a POST from another
// origin is refused by plugins/security.ts; the stream checks Origin and
// Sec-Fetch-Site itself, being a GET). Changing the subscription opens a new
// stream. No new dependency is needed.
//
// Watching is read access to the app's data, publishing and RPCs write
// access. Publishing and RPCs go through a realtime node's HTTP data API
// with the hidden per-app key the data browser uses, as user
// "hubstream:dashboard", so the app's rules judge them like any backend's.
// The feed comes over the cluster bus (hub.ts, realtime/src/console/tap.ts):
// one control plane, one realtime node or many, and `pnpm start` alike.

/** How long a publish or an RPC may take on the realtime node before the request fails. */
const REALTIME_TIMEOUT_MS = 15_000;
/** Names and patterns one console may subscribe to. */
export const MAX_SUBSCRIPTIONS = 20;
/**
 * A comment line on the stream this often keeps proxies from closing it as
 * idle; at the same pace the caller's session and access are checked again,
 * so a console closes soon after a logout, a revoked session or a lost role.
 */
const HEARTBEAT_MS = 15_000;
/** Largest event or RPC data accepted from the console, as JSON text. */
export const MAX_DATA_CHARS = 64 * 1024;

const EventName = Type.String({ minLength: 1, maxLength: 1024 });

const StreamQuery = Type.Object(
  {
    name: Type.Optional(
      Type.Array(EventName, {
        maxItems: MAX_SUBSCRIPTIONS,
        description: 'Event names to watch (repeat the parameter for more).',
      }),
    ),
    pattern: Type.Optional(
      Type.Array(Type.String({ minLength: 1, maxLength: limits.MAX_DYNAMIC_REGEX_LENGTH }), {
        maxItems: MAX_SUBSCRIPTIONS,
        description:
          'Listen-style patterns (RE2 regular expressions matched anywhere in the name, as a LISTEN).',
      }),
    ),
  },
  { additionalProperties: false },
);

const SendBody = Type.Object(
  {
    name: EventName,
    data: Type.Optional(
      Type.Unknown({ description: 'Any JSON value; left out, the event or RPC has no data.' }),
    ),
  },
  { additionalProperties: false },
);

const RpcReply = Type.Object(
  {
    ok: Type.Boolean(),
    data: Type.Optional(Type.Unknown()),
    errorEvent: Type.Optional(Type.String()),
    message: Type.Optional(Type.String()),
  },
  {
    description:
      "The RPC's answer: `ok` with the provider's `data`, or the error (NO_RPC_PROVIDER, RESPONSE_TIMEOUT, the provider's error) with a sentence saying what it means.",
    examples: [{ ok: true, data: { sum: 3 } }],
  },
);

const DeniedReply = Type.Object(ErrorReply.properties, {
  description:
    'FORBIDDEN as for every app route (a role below developer), or DENIED_BY_PERMISSIONS: the app\'s rules refused it for user "hubstream:dashboard".',
  examples: [
    {
      error: {
        code: 'DENIED_BY_PERMISSIONS',
        message:
          'The app\'s permissions refused this for user "hubstream:dashboard" (Message denied. Action "EMIT" is not permitted.). Allow that user in the app\'s Valve rules to publish and make RPCs from the console.',
        details: [],
      },
    },
  ],
});

const StreamReply = Type.String({
  description:
    'A text/event-stream that stays open: each SSE event is named by its item type (`ready` first, then `event`, `nodes`, `presence`, `denied`, `auth`, `dropped`), its data the item as JSON.',
  examples: [
    'event: ready\ndata: {"names":[],"patterns":["^chat/"]}\n\nevent: event\ndata: {"type":"event","name":"chat/lobby","data":"{\\"text\\":\\"hi\\"}","user":"open:ada","node":"rt-1","at":1796578952165}\n\n',
  ],
});

const RPC_MEANINGS: Record<string, string> = {
  NO_RPC_PROVIDER: 'No client provides this RPC right now.',
  RESPONSE_TIMEOUT: 'A provider took the request but did not answer in time.',
  ACCEPT_TIMEOUT: 'No provider accepted the request in time.',
  TIMEOUT: 'The realtime node gave up waiting for the answer.',
};

/** Refuses a stream whose browser says it comes from another site (the cookie is ambient). */
function checkOrigin(request: FastifyRequest, publicUrl: string | undefined) {
  if (request.headers.authorization || !request.cookies?.[SESSION_COOKIE]) return;
  const origin = request.headers.origin;
  if (origin !== undefined && !isOwnOrigin(request, origin, publicUrl)) {
    throw new ApiError(
      'FORBIDDEN',
      `Cross-site request refused: Origin ${origin} is not this control plane. The console stream opens only from the dashboard itself.`,
    );
  }
  const site = request.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin' && site !== 'none') {
    throw new ApiError(
      'FORBIDDEN',
      `Cross-site request refused: the browser says it came from a ${site} page.`,
    );
  }
}

function denied(result: DataResult): ApiError | null {
  if (result.errorEvent === 'MESSAGE_DENIED' && result.error?.includes('rate limit')) {
    return new ApiError(
      'RATE_LIMITED',
      "The app's message rate limit is reached (see its Limits page): nothing was sent. Try again in a moment.",
    );
  }
  if (result.errorEvent === 'MESSAGE_DENIED' || result.errorEvent === 'MESSAGE_PERMISSION_ERROR') {
    return new ApiError(
      'DENIED_BY_PERMISSIONS',
      `The app's permissions refused this for user "${DASHBOARD_USER_ID}" (${result.error ?? result.errorEvent}). Allow that user in the app's Valve rules to publish and make RPCs from the console.`,
    );
  }
  return null;
}

const withData = (command: Record<string, unknown>, data: unknown) =>
  data === undefined ? command : { ...command, data };

function checkedData(data: unknown) {
  if (data !== undefined && JSON.stringify(data).length > MAX_DATA_CHARS) {
    throw new ApiError(
      'VALIDATION_FAILED',
      `The data is too large: at most ${MAX_DATA_CHARS} characters of JSON.`,
    );
  }
  return data;
}

export const consoleRoutes: FastifyPluginAsyncTypebox<ControlPlaneContext> = async (
  app,
  context,
) => {
  const { prisma } = context.db;
  const tags = ['console'];
  const hub = new ConsoleHub(context.bus, activeRuleLines(prisma));
  // Before the server waits for its connections to end: open streams would hold it forever.
  app.addHook('preClose', async () => hub.shutdown());
  const realtime = new RealtimeData(
    prisma,
    context.realtimeData ??
      fetchTransport(
        context.config.REALTIME_INTERNAL_URL ?? realtimeHttpUrl(publicRealtimeUrl(context.config)),
        REALTIME_TIMEOUT_MS,
      ),
  );
  const publicUrl = context.config.PUBLIC_HTTP_URL;

  app.get(
    '/apps/:id/console/stream',
    {
      config: { access: 'data:read' },
      onRequest: async (request) => checkOrigin(request, publicUrl),
      schema: {
        tags,
        summary: "The app's live traffic, as Server-Sent Events",
        description:
          'Events whose name is one of `name` or matches one of `pattern` (as they are emitted, on any node), `nodes` (connections per node and who is online, every few seconds), `presence` (a user came online or left), `denied` (an action the rules refused, with the rule and its line), `auth` (a failed login), and `dropped` ("k more dropped": items over the per-second bounds). Each SSE event is named by its `type`; its data is the item as JSON.',
        params: AppIdParams,
        querystring: StreamQuery,
        produces: ['text/event-stream'],
        response: { 200: StreamReply, ...errors(400, 401, 403, 404, 429) },
      },
    },
    async (request, reply) => {
      const appId = request.app.id;
      const names = [...new Set(request.query.name ?? [])];
      const patterns = [...new Set(request.query.pattern ?? [])];
      for (const pattern of patterns) {
        const compiled = compileRegex(pattern, '');
        if (!compiled.ok) {
          throw new ApiError(
            'VALIDATION_FAILED',
            `The pattern ${JSON.stringify(pattern)} is not allowed: ${compiled.message}.`,
          );
        }
      }
      if (!hub.hasRoom(appId)) {
        throw new ApiError(
          'RATE_LIMITED',
          'Too many consoles are open for this app (or on this control plane): close one and try again.',
        );
      }
      reply.hijack();
      const raw = reply.raw;
      raw.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-store',
        'x-accel-buffering': 'no',
        'x-content-type-options': 'nosniff',
      });
      const write = (item: ConsoleItem) => {
        if (raw.writableLength > MAX_BUFFERED_BYTES || raw.destroyed) return false;
        raw.write(`event: ${item.type}\ndata: ${JSON.stringify(item)}\n\n`);
        return true;
      };
      raw.write(`event: ready\ndata: ${JSON.stringify({ names, patterns })}\n\n`);
      const stream = hub.open(appId, names, patterns, write, () => raw.end());
      const { principal, app: watched } = request;
      const heartbeat = setInterval(() => {
        stillAllowed(prisma, principal, watched.id).then(
          (allowed) => {
            if (!allowed) raw.end();
            else if (!raw.destroyed) raw.write(': keep-alive\n\n');
          },
          () => {},
        );
      }, HEARTBEAT_MS);
      heartbeat.unref();
      request.raw.on('close', () => {
        clearInterval(heartbeat);
        hub.close(stream);
      });
    },
  );

  app.post(
    '/apps/:id/console/events',
    {
      config: { access: 'data:write' },
      schema: {
        tags,
        summary: 'Publish an event to the app (as user "hubstream:dashboard")',
        params: AppIdParams,
        body: SendBody,
        response: {
          200: Type.Object(
            { ok: Type.Literal(true) },
            {
              description: 'The event went to its subscribers on every node.',
              examples: [{ ok: true }],
            },
          ),
          ...errors(400, 401, 404, 429, 503),
          403: DeniedReply,
        },
      },
    },
    async (request) => {
      const data = checkedData(request.body.data);
      const [result] = await realtime.commands(request.app.id, [
        withData({ topic: 'event', action: 'emit', eventName: request.body.name }, data),
      ]);
      if (!result!.success) {
        throw (
          denied(result!) ??
          new ApiError(
            'REALTIME_UNAVAILABLE',
            `The realtime node did not publish the event (${result!.error ?? result!.errorEvent}).`,
          )
        );
      }
      return { ok: true as const };
    },
  );

  app.post(
    '/apps/:id/console/rpc',
    {
      config: { access: 'data:write' },
      schema: {
        tags,
        summary: 'Make an RPC to one of its providers and wait for the answer',
        params: AppIdParams,
        body: SendBody,
        response: { 200: RpcReply, ...errors(400, 401, 404, 429, 503), 403: DeniedReply },
      },
    },
    async (request) => {
      const data = checkedData(request.body.data);
      const [result] = await realtime.commands(request.app.id, [
        withData({ topic: 'rpc', action: 'make', rpcName: request.body.name }, data),
      ]);
      if (result!.success) return { ok: true, data: result!.data };
      const refusal = denied(result!);
      if (refusal) throw refusal;
      const errorEvent = result!.errorEvent ?? 'ERROR';
      return {
        ok: false,
        errorEvent,
        message: RPC_MEANINGS[errorEvent] ?? result!.error ?? 'The RPC failed.',
        ...(result!.data === undefined ? {} : { data: result!.data }),
      };
    },
  );
};
