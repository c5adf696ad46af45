import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import type { RouteContext } from '../../context.ts';
import { AppIdParams, errors } from '../../lib/schemas.ts';
import { requireDeveloper } from '../../plugins/auth.ts';
import { AppBody, AppList, AppView, CreateAppBody } from './schemas.ts';
import { appView, createApp, deleteApp, getApp, listApps, renameApp } from './service.ts';

export const appRoutes: FastifyPluginAsyncTypebox<RouteContext> = async (app, context) => {
  const { prisma } = context.db;
  const tags = ['apps'];

  app.post(
    '/apps',
    {
      schema: {
        tags,
        summary: 'Create an app',
        description:
          'In your own organisation, or in the one `organisationId` names if your role there may create apps (developer and above).',
        body: CreateAppBody,
        response: { 201: AppView, ...errors(400, 401, 403, 404) },
      },
    },
    async (request, reply) => {
      const developer = await requireDeveloper(prisma, request);
      const { name, template, organisationId } = request.body;
      const created = await createApp(prisma, developer, name, template, organisationId);
      return reply.code(201).send(appView(context.config, created));
    },
  );

  app.get(
    '/apps',
    {
      schema: {
        tags,
        summary: 'List your apps',
        description:
          'The apps of every organisation you are a member of (`organisationId` says which).',
        response: { 200: AppList, ...errors(401, 403) },
      },
    },
    async (request) => {
      const developer = await requireDeveloper(prisma, request);
      const apps = await listApps(prisma, developer);
      return { apps: apps.map((a) => appView(context.config, a)) };
    },
  );
};

/** GET, PATCH and DELETE /apps/:id, in the app scope (plugins/app-scope.ts). */
export const appItemRoutes: FastifyPluginAsyncTypebox<RouteContext> = async (app, context) => {
  const { prisma } = context.db;
  const tags = ['apps'];

  app.get(
    '/apps/:id',
    {
      config: { access: 'app:read' },
      schema: {
        tags,
        summary: 'Get an app',
        params: AppIdParams,
        response: { 200: AppView, ...errors(401, 403, 404) },
      },
    },
    async (request) => {
      const { app: found } = request;
      return appView(context.config, await getApp(prisma, found.id));
    },
  );

  app.patch(
    '/apps/:id',
    {
      config: { access: 'app:write' },
      schema: {
        tags,
        summary: 'Rename an app',
        params: AppIdParams,
        body: AppBody,
        response: { 200: AppView, ...errors(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const { app: found, principal } = request;
      const updated = await renameApp(prisma, found, principal, request.body.name);
      return appView(context.config, updated);
    },
  );

  app.delete(
    '/apps/:id',
    {
      config: { access: 'app:delete' },
      schema: {
        tags,
        summary: 'Delete an app with its users, keys, rules and records',
        params: AppIdParams,
        response: { 204: Type.Null(), ...errors(401, 403, 404) },
      },
    },
    async (request, reply) => {
      const { app: found, principal } = request;
      await deleteApp(context, found, principal, request.log);
      return reply.code(204).send(null);
    },
  );
};
