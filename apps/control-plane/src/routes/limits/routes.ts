import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { RouteContext } from '../../context.ts';
import { ApiError } from '../../errors.ts';
import { AppIdParams, errors } from '../../lib/schemas.ts';
import { LIMIT_NAMES, LimitsBody, LimitsView, limitProblems } from './schemas.ts';
import { type OwnLimits, readLimits, saveLimits } from './service.ts';

export const limitsRoutes: FastifyPluginAsyncTypebox<RouteContext> = async (app, context) => {
  const tags = ['limits'];

  app.get(
    '/apps/:id/limits',
    {
      config: { access: 'app:read' },
      schema: {
        tags,
        summary: "The app's connection, message, cross-reference and per-connection limits",
        description:
          'Each limit is the app\'s own value or null for the platform default; "effective" is what realtime nodes enforce.',
        params: AppIdParams,
        response: { 200: LimitsView, ...errors(401, 403, 404) },
      },
    },
    async (request) => {
      const { app: found } = request;
      return readLimits(context.db.prisma, context.config, found.id);
    },
  );

  app.put(
    '/apps/:id/limits',
    {
      config: { access: 'app:write' },
      schema: {
        tags,
        summary: "Set the app's own limits",
        description:
          'Limits left out keep their values; null returns one to the platform default. Every realtime node applies the change at once, to messages and to new connections (open connections above a lowered connection limit stay).',
        params: AppIdParams,
        body: LimitsBody,
        response: { 200: LimitsView, ...errors(400, 401, 403, 404) },
      },
      preValidation: async (request) => {
        const problems = limitProblems(request.body);
        if (problems.length > 0) {
          throw new ApiError(
            'VALIDATION_FAILED',
            problems.map((p) => p.message).join(' '),
            problems,
          );
        }
      },
    },
    async (request) => {
      const { app: found, principal } = request;
      const changes: Partial<OwnLimits> = {};
      for (const name of LIMIT_NAMES) {
        const value = request.body[name];
        if (value !== undefined) changes[name] = value;
      }
      return saveLimits(context.appChanges, context.config, found.id, principal, changes);
    },
  );
};
