import type { App } from '@hubstream/db';
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import type { RouteContext } from '../context.ts';
import { ApiError } from '../errors.ts';
import { appById } from './access-service.ts';
import { type AppAccess, authorizeApp, isAppAccess } from './app-access.ts';
import { type Principal, requirePrincipal } from './auth.ts';

// Every route under /v1/apps/:id goes through this scope: the caller and the
// app are resolved once, before the handler, and the access the route
// declares (`config: { access }`) is checked by authorizeApp. Handlers read
// `request.app` and `request.principal` and never look either up themselves.

declare module 'fastify' {
  interface FastifyContextConfig {
    /** What a route under /v1/apps/:id does to the app (plugins/app-access.ts). */
    access?: AppAccess;
  }
  interface FastifyRequest {
    /** The app of /v1/apps/:id, authorized for the route's access (app-scope.ts only). */
    app: App;
    /** The caller (app-scope.ts only; elsewhere use requireDeveloper). */
    principal: Principal;
  }
}

export const APP_SCOPE_PREFIX = '/v1/apps/:id';

/**
 * Registers `routes` (each a route plugin taking the context) inside the
 * app scope. A route there that is not under /v1/apps/:id, or that does not
 * declare its access, fails at start.
 */
export async function registerAppScope(
  parent: FastifyInstance,
  context: RouteContext,
  routes: readonly FastifyPluginAsync<RouteContext>[],
): Promise<void> {
  const { prisma } = context.db;
  await parent.register(async (scope) => {
    scope.decorateRequest('app', null as never);
    scope.decorateRequest('principal', null as never);
    scope.addHook('onRoute', (route) => {
      const url = route.url ?? route.path;
      if (url !== APP_SCOPE_PREFIX && !url.startsWith(`${APP_SCOPE_PREFIX}/`)) {
        throw new Error(
          `${route.method} ${url} is in the app scope but not under ${APP_SCOPE_PREFIX}`,
        );
      }
      if (!isAppAccess(route.config?.access)) {
        throw new Error(`${route.method} ${url} does not declare its access (config.access)`);
      }
    });
    // After validation, as the handlers' own lookups were: a bad request
    // is a 400 before it is a 401.
    scope.addHook('preHandler', async (request) => {
      const access = request.routeOptions.config.access as AppAccess;
      const appId = (request.params as { id: string }).id;
      const principal = await requirePrincipal(prisma, request);
      // Said without looking the app up: it tells nothing about which apps exist.
      if (principal.kind === 'apiKey' && principal.appId !== appId) {
        throw new ApiError(
          'FORBIDDEN',
          `This API key belongs to another app (${principal.appId}): an API key works only for its own app. Use a key of app ${appId}, or your session token.`,
        );
      }
      const app = await appById(prisma, appId);
      if (!app) throw new ApiError('NOT_FOUND', `App ${appId} was not found.`);
      await authorizeApp(principal, app, access, prisma);
      request.principal = principal;
      request.app = app;
    });
    for (const routePlugin of routes) await scope.register(routePlugin, context);
  });
}
