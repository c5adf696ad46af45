import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import type { ControlPlaneContext } from '../../context.ts';
import { AppIdParams, errors } from '../../lib/schemas.ts';
import {
  CreatedUser,
  CreateUserBody,
  UpdateUserBody,
  UserList,
  UserListQuery,
  UserParams,
  UserView,
} from './schemas.ts';
import { changeUser, deleteUser, findUser, listUsers, registerUser, userView } from './service.ts';

// The end users of an app with email auth. Callable by the app's developer
// and, for scripts and backends, with one of the app's API keys.

export const appUserRoutes: FastifyPluginAsyncTypebox<ControlPlaneContext> = async (
  app,
  context,
) => {
  const { prisma } = context.db;
  const tags = ['app users'];

  app.post(
    '/apps/:id/users',
    {
      config: { access: 'users:write' },
      schema: {
        tags,
        summary: 'Register an end user for email login',
        params: AppIdParams,
        body: CreateUserBody,
        response: { 201: CreatedUser, ...errors(400, 401, 404, 409) },
      },
    },
    async (request, reply) => {
      const { app: found, principal } = request;
      const user = await registerUser(prisma, found.id, principal, request.body);
      return reply.code(201).send({ id: user.id, email: user.email });
    },
  );

  app.get(
    '/apps/:id/users',
    {
      config: { access: 'users:read' },
      schema: {
        tags,
        summary: 'List and search end users',
        params: AppIdParams,
        querystring: UserListQuery,
        response: { 200: UserList, ...errors(400, 401, 404) },
      },
    },
    async (request) => {
      const { app: found } = request;
      return listUsers(prisma, found.id, {
        q: request.query.q,
        limit: request.query.limit ?? 50,
        offset: request.query.offset ?? 0,
      });
    },
  );

  app.get(
    '/apps/:id/users/:userId',
    {
      config: { access: 'users:read' },
      schema: {
        tags,
        summary: 'Get an end user',
        params: UserParams,
        response: { 200: UserView, ...errors(400, 401, 404) },
      },
    },
    async (request) => {
      const { app: found } = request;
      return userView(await findUser(prisma, found.id, request.params.userId));
    },
  );

  app.patch(
    '/apps/:id/users/:userId',
    {
      config: { access: 'users:write' },
      schema: {
        tags,
        summary: "Change an end user's email, password, clientData or serverData",
        params: UserParams,
        body: UpdateUserBody,
        response: { 200: UserView, ...errors(400, 401, 404, 409) },
      },
    },
    async (request) => {
      const { app: found, principal } = request;
      const updated = await changeUser(
        prisma,
        found.id,
        principal,
        request.params.userId,
        request.body,
      );
      return userView(updated);
    },
  );

  app.delete(
    '/apps/:id/users/:userId',
    {
      config: { access: 'users:write' },
      schema: {
        tags,
        summary: 'Delete an end user',
        params: UserParams,
        response: { 204: Type.Null(), ...errors(400, 401, 404) },
      },
    },
    async (request, reply) => {
      const { app: found, principal } = request;
      await deleteUser(prisma, found.id, principal, request.params.userId);
      return reply.code(204).send(null);
    },
  );
};
