import { setMaxListeners } from 'node:events';
import type { ConnectionInfo, User } from '@hubstream/auth';
import { isOwnToken, type TokenStore } from '@hubstream/cluster';
import type { Config } from '@hubstream/config';
import type { PrismaClient } from '@hubstream/db';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { unknownAppReason } from '../gateway/unknown-app.ts';
import { addressKey, give, take } from '../limits/unauthenticated.ts';
import type { AppRegistry } from '../runtime/app-registry.ts';
import type { AppRuntime } from '../runtime/app-runtime.ts';
import { ApiKeys } from './api-keys.ts';
import { type Command, parseCommand } from './commands.ts';
import { HttpClient } from './http-client.ts';
import { type HttpApiMetrics, type RequestOutcome, refusalOf } from './metrics.ts';
import { type CommandResult, overall, shuttingDown, timedOut } from './results.ts';

// deepstream's HTTP API on every realtime node, beside the WebSocket
// endpoint (same port, same TLS):
//   POST /:appId/api       { token?, authData?, body: [commands] } -> { result, body }
//   POST /:appId/api/auth  authData -> { token, clientData }
// Malformed requests and failed logins get a plain-text answer with a 4xx
// status, as deepstream gives them; a well-formed request gets 200 and one
// result per command, in order (one failing command does not stop the
// others).

export type HttpApiOptions = {
  registry: AppRegistry;
  prisma: PrismaClient;
  config: Pick<
    Config,
    | 'HTTP_API_MAX_COMMANDS'
    | 'HTTP_API_REQUEST_TIMEOUT_MS'
    | 'HTTP_API_MAX_REQUESTS_PER_ADDRESS'
    | 'HTTP_API_KEY_CACHE_MS'
    | 'MAX_MESSAGE_BYTES'
  >;
  /**
   * Tokens from POST /:appId/api/auth, which a later request sends instead
   * of logging in again: the cluster's (@hubstream/cluster), valid on every node.
   */
  tokens: TokenStore<TokenSession>;
  /** Where requests and commands are counted (the node's /metrics). */
  metrics: HttpApiMetrics;
};

/** What an HTTP API token stands for: the user its login produced. */
export type TokenSession = { user: User };

type Failure = { status: number; message: string };
type Outcome<T> = { ok: true; value: T } | ({ ok: false } & Failure);

const fail = (status: number, message: string): { ok: false } & Failure => ({
  ok: false,
  status,
  message,
});

const APP_ID = /^[a-z0-9]{1,64}$/;
const JSON_TYPE = /^application\/json\s*(;|$)/i;
const BEARER = /^Bearer\s+(\S+)\s*$/i;

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function sendText(reply: FastifyReply, status: number, message: string) {
  return reply.code(status).type('text/plain; charset=utf-8').send(message);
}

/** Why a login was refused, in the words deepstream uses. */
function loginRefusal(base: string, clientData: unknown): string {
  if (typeof clientData === 'string' && clientData.length > 0) return clientData;
  if (isObject(clientData) && typeof clientData.error === 'string') {
    return `${base} (${clientData.error})`;
  }
  return base;
}

export async function registerHttpApi(
  app: FastifyInstance,
  options: HttpApiOptions,
): Promise<void> {
  const { registry, config, metrics, tokens } = options;
  const keys = new ApiKeys(options.prisma, config.HTTP_API_KEY_CACHE_MS);
  /** Requests being worked on, per client address (no entry: none). */
  const inProgress = new Map<string, number>();
  // Closing: commands still waiting (an RPC) are answered at once.
  const stop = new AbortController();
  // Every command waiting at once listens to it: no leak warning past ten.
  setMaxListeners(0, stop.signal);
  app.addHook('preClose', async () => stop.abort());

  const runtimeOf = async (request: FastifyRequest): Promise<Outcome<AppRuntime>> => {
    const { appId } = request.params as { appId: string };
    const runtime = APP_ID.test(appId) ? await registry.get(appId) : null;
    if (!runtime) return fail(404, unknownAppReason(appId).message);
    return { ok: true, value: runtime };
  };

  /** The request's JSON object, within the app's message size limit. */
  const bodyOf = (request: FastifyRequest, runtime: AppRuntime): Outcome<unknown> => {
    const type = request.headers['content-type'];
    if (typeof type !== 'string' || !JSON_TYPE.test(type)) {
      return fail(415, 'Invalid "Content-Type" header. Supported media types: "application/json"');
    }
    const raw = request.body instanceof Buffer ? request.body : Buffer.alloc(0);
    if (raw.byteLength > runtime.maxMessageBytes) {
      return fail(400, 'Failed to parse body of request: request entity too large');
    }
    try {
      return { ok: true, value: JSON.parse(raw.toString('utf8')) };
    } catch (error) {
      return fail(400, `Failed to parse body of request: ${(error as Error).message}`);
    }
  };

  const infoOf = (request: FastifyRequest): ConnectionInfo => {
    const headers: Record<string, string> = {};
    for (const [key, value] of Object.entries(request.headers)) {
      // The API key is the caller's secret: never handed to a webhook.
      if (typeof value === 'string' && key !== 'authorization') headers[key] = value;
    }
    return { remoteAddress: request.ip, headers };
  };

  const login = async (
    runtime: AppRuntime,
    authData: Record<string, unknown>,
    request: FastifyRequest,
    refusal: string,
  ): Promise<Outcome<{ user: User; clientData: unknown }>> => {
    const result = await runtime.authenticate(authData, infoOf(request), request.log);
    if (!result.ok) {
      runtime.usage.authFailures++;
      runtime.node.counters.authFailures.add(result.reason);
      return fail(401, loginRefusal(refusal, result.clientData));
    }
    return { ok: true, value: { user: result.user, clientData: result.clientData } };
  };

  /** Who the request acts as: an API key, authData, a token, or open auth. */
  const userOf = async (
    request: FastifyRequest,
    runtime: AppRuntime,
    body: Record<string, unknown>,
  ): Promise<Outcome<User>> => {
    const refused = 'Unsuccessful authentication attempt.';
    const header = request.headers.authorization;
    if (header !== undefined) {
      const bearer = BEARER.exec(header);
      if (!bearer) {
        return fail(
          401,
          'The Authorization header is not "Bearer" followed by one app API key (hsk_...).',
        );
      }
      if (body.token !== undefined || body.authData !== undefined) {
        return fail(
          400,
          'Invalid message: send an API key (Authorization header), a "token" or "authData", not several.',
        );
      }
      const verdict = await keys.verify(runtime.appId, bearer[1]!);
      return verdict.ok ? { ok: true, value: verdict.user } : fail(verdict.status, verdict.message);
    }
    if (body.authData !== undefined) {
      if (!isObject(body.authData)) {
        return fail(400, 'Invalid message: the "authData" parameter must be an object');
      }
      const done = await login(runtime, body.authData, request, refused);
      return done.ok ? { ok: true, value: done.value.user } : done;
    }
    if (body.token !== undefined) {
      const token = body.token;
      if (typeof token !== 'string' || token.length === 0) {
        return fail(400, 'Invalid message: the "token" parameter must be a non-empty string');
      }
      if (isOwnToken(token)) {
        const session = await tokens.find(runtime.appId, token);
        if (session) return { ok: true, value: session.user };
        return fail(
          401,
          `This token is unknown or has expired: log in again with POST /${runtime.appId}/api/auth.`,
        );
      }
      // Not one of ours: the app's own token, for its webhook to judge (as deepstream does).
      const done = await login(runtime, { token }, request, refused);
      return done.ok ? { ok: true, value: done.value.user } : done;
    }
    // Open auth needs nothing.
    const done = await login(runtime, {}, request, refused);
    return done.ok ? { ok: true, value: done.value.user } : done;
  };

  const commandsOf = (body: Record<string, unknown>): Outcome<Command[]> => {
    const list = body.body;
    if (!Array.isArray(list) || list.length === 0) {
      return fail(
        400,
        `Invalid message: the "body" parameter must ${list === undefined ? 'exist.' : 'be a non-empty array of Objects.'}`,
      );
    }
    if (list.length > config.HTTP_API_MAX_COMMANDS) {
      return fail(
        400,
        `Invalid message: the "body" parameter holds ${list.length} commands; at most ${config.HTTP_API_MAX_COMMANDS} are allowed in one request.`,
      );
    }
    const commands: Command[] = [];
    for (const [index, raw] of list.entries()) {
      const parsed = parseCommand(raw);
      if (!parsed.ok) {
        return fail(400, `Failed to parse JIF object at index ${index}. Reason: ${parsed.reason}`);
      }
      commands.push(parsed.command);
    }
    return { ok: true, value: commands };
  };

  const run = async (
    runtime: AppRuntime,
    user: User,
    commands: Command[],
    info: ConnectionInfo,
  ) => {
    const client = new HttpClient(runtime, info, user);
    const deadline = Date.now() + config.HTTP_API_REQUEST_TIMEOUT_MS;
    const results: CommandResult[] = [];
    try {
      for (const command of commands) {
        const started = performance.now();
        let result: CommandResult;
        if (stop.signal.aborted) result = shuttingDown();
        else if (Date.now() >= deadline) result = timedOut();
        else result = await client.run(command, deadline, stop.signal);
        metrics.command(command, result, (performance.now() - started) / 1000);
        results.push(result);
      }
    } finally {
      client.finish();
    }
    return results;
  };

  /** The verdicts of the requests that ran their commands (the others are counted by status). */
  const verdicts = new WeakMap<FastifyRequest, RequestOutcome>();

  await app.register(async (scope) => {
    // The raw bytes: the size and the JSON are judged here, per app, with deepstream's errors.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser(
      '*',
      { parseAs: 'buffer', bodyLimit: config.MAX_MESSAGE_BYTES },
      (_request, body, done) => done(null, body),
    );
    scope.setErrorHandler(
      (error: Error & { statusCode?: number; code?: string }, request, reply) => {
        if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
          return sendText(reply, 400, 'Failed to parse body of request: request entity too large');
        }
        const status = error.statusCode ?? 500;
        if (status >= 500) {
          request.log.error({ err: error }, 'http api request failed');
          return sendText(reply, 500, 'The request failed on the server.');
        }
        return sendText(reply, status, error.message);
      },
    );
    // Every answer to a batch, also the refusals before the body is read.
    scope.addHook('onResponse', async (request, reply) => {
      if (request.method !== 'POST' || request.routeOptions.url !== '/:appId/api') return;
      metrics.request(verdicts.get(request) ?? refusalOf(reply.statusCode));
    });
    // Any origin may call (deepstream's default): every request carries its own credentials.
    scope.addHook('onRequest', async (_request, reply) => {
      reply.header('access-control-allow-origin', '*');
    });
    // Requests in progress per client address, bounded before the body is
    // read: each may hold a login, a tenant's webhook or an RPC for seconds,
    // as a WebSocket that has not logged in may (MAX_UNAUTHENTICATED_...).
    scope.addHook('onRequest', async (request, reply) => {
      // Counted as the WebSocket pre-login cap counts addresses (IPv6 by /64).
      const address = addressKey(request.ip);
      if ((inProgress.get(address) ?? 0) >= config.HTTP_API_MAX_REQUESTS_PER_ADDRESS) {
        return sendText(
          reply,
          429,
          `Too many HTTP API requests in progress from this address (at most ${config.HTTP_API_MAX_REQUESTS_PER_ADDRESS}, HTTP_API_MAX_REQUESTS_PER_ADDRESS): wait for the earlier ones to be answered.`,
        );
      }
      take(inProgress, address);
      // 'close' comes once whether the request was answered or abandoned.
      reply.raw.once('close', () => give(inProgress, address));
    });

    scope.post('/:appId/api', async (request, reply) => {
      const runtime = await runtimeOf(request);
      if (!runtime.ok) return sendText(reply, runtime.status, runtime.message);
      const parsed = bodyOf(request, runtime.value);
      if (!parsed.ok) return sendText(reply, parsed.status, parsed.message);
      const body = parsed.value;
      if (!isObject(body)) {
        return sendText(
          reply,
          400,
          'Invalid message: the request must be a JSON object with a "body" array.',
        );
      }
      // The batch's shape first: nothing is looked up for a request that cannot run.
      const commands = commandsOf(body);
      if (!commands.ok) return sendText(reply, commands.status, commands.message);
      const user = await userOf(request, runtime.value, body);
      if (!user.ok) return sendText(reply, user.status, user.message);
      const results = await run(runtime.value, user.value, commands.value, infoOf(request));
      const verdict = overall(results);
      verdicts.set(request, verdict.toLowerCase() as RequestOutcome);
      return reply
        .code(200)
        .type('application/json; charset=utf-8')
        .send(JSON.stringify({ result: verdict, body: results }));
    });

    scope.post('/:appId/api/auth', async (request, reply) => {
      const runtime = await runtimeOf(request);
      if (!runtime.ok) return sendText(reply, runtime.status, runtime.message);
      const parsed = bodyOf(request, runtime.value);
      if (!parsed.ok) return sendText(reply, parsed.status, parsed.message);
      let authData = parsed.value;
      // deepstream takes the body itself as authData; `{ authData: {...} }` is taken too.
      if (isObject(authData) && Object.keys(authData).length === 1 && isObject(authData.authData)) {
        authData = authData.authData;
      }
      if (!isObject(authData)) {
        return sendText(
          reply,
          400,
          'Invalid message: the body must be a JSON object (the authData).',
        );
      }
      const done = await login(runtime.value, authData, request, 'Invalid authentication data.');
      if (!done.ok) return sendText(reply, done.status, done.message);
      const token = await tokens.issue(runtime.value.appId, { user: done.value.user });
      return reply
        .code(200)
        .type('application/json; charset=utf-8')
        .send(JSON.stringify({ token, clientData: done.value.clientData }));
    });

    const preflight = async (_request: FastifyRequest, reply: FastifyReply) =>
      reply
        .code(204)
        .header('access-control-allow-methods', 'POST, OPTIONS')
        .header('access-control-allow-headers', 'Content-Type, Authorization')
        .header('access-control-max-age', '600')
        .send();
    scope.options('/:appId/api', preflight);
    scope.options('/:appId/api/auth', preflight);
    const onlyPost = async (_request: FastifyRequest, reply: FastifyReply) =>
      sendText(
        reply.header('allow', 'POST, OPTIONS'),
        405,
        'Unsupported method. Supported methods: POST, OPTIONS',
      );
    scope.get('/:appId/api', onlyPost);
    scope.get('/:appId/api/auth', onlyPost);
  });
}
