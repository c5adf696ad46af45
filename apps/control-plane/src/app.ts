import { randomUUID } from 'node:crypto';
import cookie from '@fastify/cookie';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { BullMqJobQueue } from '@hubstream/cluster';
import { publicRealtimeUrl, trustedProxies } from '@hubstream/config';
import {
  closeSilentConnections,
  lazySchemaController,
  Registry,
  registerHealthRoutes,
  registerMetricsRoute,
  registerQueueDepth,
} from '@hubstream/service';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyServerFactory,
  LogController,
} from 'fastify';
import type { ControlPlaneContext, RouteContext } from './context.ts';
import { ApiError, toApiError } from './errors.ts';
import { completeDocument, DOCS_PAGE, documentSchema, realtimeHttpUrl } from './lib/api-docs.ts';
import { AppChanges } from './lib/app-changes.ts';
import { registerAppScope } from './plugins/app-scope.ts';
import { registerDashboard } from './plugins/dashboard.ts';
import { registerInputGuards } from './plugins/input-guard.ts';
import { registerRequestLog } from './plugins/request-log.ts';
import { registerSecurity } from './plugins/security.ts';
import { accountRoutes } from './routes/accounts/routes.ts';
import { appUserRoutes } from './routes/app-users/routes.ts';
import { appItemRoutes, appRoutes } from './routes/apps/routes.ts';
import { auditRoutes } from './routes/audit/routes.ts';
import { authSettingsRoutes } from './routes/auth-settings/routes.ts';
import { consoleRoutes } from './routes/console/routes.ts';
import { keyRoutes } from './routes/keys/routes.ts';
import { limitsRoutes } from './routes/limits/routes.ts';
import { localCaRoutes, registerClientBundle } from './routes/local-setup/routes.ts';
import { orgRoutes } from './routes/orgs/routes.ts';
import { permissionRoutes } from './routes/permissions/routes.ts';
import { recordRoutes } from './routes/records/routes.ts';
import { usageRoutes } from './routes/usage/routes.ts';
import { webhookTestRoutes } from './routes/webhook-test/routes.ts';

export type ControlPlaneOptions = ControlPlaneContext & {
  /** How the server faces the network (HTTPS): @hubstream/service's openServerTransport. */
  serverFactory?: FastifyServerFactory | undefined;
};

/** Largest request body: Valve files are the biggest thing we accept. */
export const BODY_LIMIT_BYTES = 256 * 1024;

export type ControlPlaneServer = FastifyInstance;

/** The control plane's HTTP server, not yet listening. */
export async function buildApp(context: ControlPlaneOptions): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: context.logger.child({ service: 'control-plane' }) as FastifyBaseLogger,
    genReqId: () => randomUUID(),
    requestIdHeader: false,
    // X-Forwarded-For/-Proto/-Host count only from TRUSTED_PROXIES.
    trustProxy: trustedProxies(context.config),
    ...(context.serverFactory ? { serverFactory: context.serverFactory } : {}),
    bodyLimit: BODY_LIMIT_BYTES,
    // Unknown fields are an error, not silently dropped.
    ajv: { customOptions: { removeAdditional: false, allErrors: true } },
    // Each route's schemas compile on its first request (start time).
    schemaController: lazySchemaController(),
    // One line per answered request instead (plugins/request-log.ts).
    // Through a LogController: the top-level disableRequestLogging option
    // is deprecated and printed FSTDEP023 at every start.
    logController: new LogController({ disableRequestLogging: true }),
  }).withTypeProvider<TypeBoxTypeProvider>();
  closeSilentConnections(app);
  registerRequestLog(app);

  // Valve files may be uploaded as YAML text.
  app.addContentTypeParser(
    ['text/yaml', 'application/yaml', 'application/x-yaml', 'text/plain'],
    { parseAs: 'string' },
    (_request, body, done) => done(null, body),
  );

  // A request with no body at all is checked as an empty object, so optional
  // bodies may be left out and required fields are named in the error.
  app.addHook('preValidation', async (request) => {
    if (request.body === undefined && request.routeOptions.schema?.body) request.body = {};
  });

  // Before any route: bounds and checks that apply to every route's input.
  registerInputGuards(app);
  await app.register(cookie);
  registerSecurity(app, { publicUrl: context.config.PUBLIC_HTTP_URL });
  await app.register(rateLimit, {
    global: false,
    errorResponseBuilder: (_request, context) =>
      new ApiError(
        'RATE_LIMITED',
        `Too many requests from this address (at most ${context.max} in a row). Try again in ${context.after}.`,
      ),
  });
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Hubstream control plane API',
        version: '1',
        description:
          'Accounts, apps, auth settings, app users, permissions and API keys. Authenticate with the session cookie or `Authorization: Bearer <token>` (a session token from `POST /v1/login` with `session: "token"`); the app user routes also take an API key of that app. Every error is `{"error": {"code", "message", "details"}}`, its code listed under each route.',
      },
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer' },
          cookie: { type: 'apiKey', in: 'cookie', name: 'hs_session' },
        },
      },
      security: [{ bearer: [] }, { cookie: [] }],
    },
    // Descriptions and examples of every reply (lib/api-docs.ts), and text
    // that the docs page renders as Markdown made safe for it.
    transform: ({ schema, url, route }) => ({
      schema: documentSchema(route.method, url, schema as Record<string, unknown>) as typeof schema,
      url,
    }),
    // The realtime nodes' data API is documented beside ours (its own `servers`).
    transformObject: (document) =>
      'openapiObject' in document
        ? completeDocument(
            document.openapiObject,
            realtimeHttpUrl(publicRealtimeUrl(context.config)),
          )
        : document.swaggerObject,
  });
  await app.register(swaggerUi, { routePrefix: '/docs', ...DOCS_PAGE });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  app.setErrorHandler((error, request, reply) => {
    const apiError = toApiError(error);
    // A refusal's status is on the request's own completed line; its code
    // and message at debug: a third info line per refused request made a
    // flood of bad requests cost the process a synchronous log write each.
    if (apiError.code === 'INTERNAL') request.log.error({ err: error }, 'request failed');
    else request.log.debug({ code: apiError.code }, apiError.message);
    return reply.code(apiError.status).send(apiError.toBody());
  });
  app.setNotFoundHandler((request, reply) => {
    const error = new ApiError('NOT_FOUND', `No route for ${request.method} ${request.url}.`);
    return reply.code(404).send(error.toBody());
  });

  registerHealthRoutes(app, [{ name: 'database', check: () => context.db.ping() }]);
  // GET /metrics: HTTP requests, process metrics, and the job queue when it is BullMQ's.
  const metrics = new Registry();
  const { jobs } = context;
  if (jobs instanceof BullMqJobQueue) registerQueueDepth(metrics, () => jobs.counts());
  registerMetricsRoute(app, { registry: metrics, token: context.config.METRICS_TOKEN });
  const appChanges = new AppChanges(context.db.prisma, context.bus, context.logger);
  appChanges.start();
  app.addHook('onClose', () => appChanges.close());
  const routes: RouteContext = { ...context, appChanges };
  await app.register(
    async (v1) => {
      await v1.register(accountRoutes, routes);
      await v1.register(appRoutes, routes);
      // Everything under /v1/apps/:id: the caller and the app resolved once,
      // each route's declared access checked (plugins/app-scope.ts).
      await registerAppScope(v1, routes, [
        appItemRoutes,
        keyRoutes,
        authSettingsRoutes,
        limitsRoutes,
        appUserRoutes,
        permissionRoutes,
        auditRoutes,
        usageRoutes,
        recordRoutes,
        webhookTestRoutes,
        consoleRoutes,
      ]);
      await v1.register(orgRoutes, context);
      await v1.register(localCaRoutes, routes);
    },
    { prefix: '/v1' },
  );
  registerClientBundle(app);
  // The dashboard's static files and its SPA fallback, after the API routes.
  registerDashboard(app);
  return app;
}
