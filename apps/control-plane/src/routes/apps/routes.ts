import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import type { ControlPlaneContext } from '../../context.ts';
import { audit } from '../../lib/audit.ts';
import { AppIdParams, errors } from '../../lib/schemas.ts';
import { requireDeveloper } from '../../plugins/auth.ts';
import { AppBody, AppList, AppView, CreateAppBody } from './schemas.ts';
import { appInclude, appView, createApp } from './service.ts';

export const appRoutes: FastifyPluginAsyncTypebox<ControlPlaneContext> = async (app, context) => {
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
      const apps = await prisma.app.findMany({
        where: { organisation: { memberships: { some: { accountId: developer.accountId } } } },
        include: appInclude,
        orderBy: { createdAt: 'asc' },
      });
      return { apps: apps.map((a) => appView(context.config, a)) };
    },
  );
};

/** GET, PATCH and DELETE /apps/:id, in the app scope (plugins/app-scope.ts). */
export const appItemRoutes: FastifyPluginAsyncTypebox<ControlPlaneContext> = async (
  app,
  context,
) => {
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
      const withVersion = await prisma.app.findUniqueOrThrow({
        where: { id: found.id },
        include: appInclude,
      });
      return appView(context.config, withVersion);
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
      const name = request.body.name.trim();
      const updated = await prisma.app.update({
        where: { id: found.id },
        data: { name },
        include: appInclude,
      });
      await audit(prisma, {
        appId: found.id,
        principal,
        action: 'app.renamed',
        target: found.id,
        details: { from: found.name, to: name },
      });
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
      await prisma.$transaction(async (tx) => {
        await tx.app.delete({ where: { id: found.id } });
        await audit(tx, {
          appId: null,
          principal,
          action: 'app.deleted',
          target: found.id,
          details: { name: found.name },
        });
      });
      await context.bus.publish(found.id, 'app.changed', { what: 'deleted' });
      // The rows are gone (committed), so the deletion stands even if the
      // purge of what the app left in Redis cannot be queued: say so loudly.
      await context.jobs.enqueue('purge-app', { appId: found.id }).catch((error: unknown) => {
        request.log.error(
          { err: error, app: found.id },
          'could not queue the purge of a deleted app',
        );
      });
      return reply.code(204).send(null);
    },
  );
};
