import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Config } from '@hubstream/config';
import type { AppLimits } from '@hubstream/db';
import type { ControlPlaneContext } from '../../context.ts';
import { ApiError } from '../../errors.ts';
import { audit } from '../../lib/audit.ts';
import { AppIdParams, errors } from '../../lib/schemas.ts';
import {
  LIMIT_MAXIMA,
  LIMIT_NAMES,
  type LimitName,
  LimitsBody,
  LimitsView,
  limitProblems,
} from './schemas.ts';

type OwnLimits = Record<LimitName, number | null>;

const defaultsOf = (config: Config): Record<LimitName, number> => ({
  maxConnections: config.APP_MAX_CONNECTIONS,
  maxMessagesPerSecond: config.APP_MAX_MESSAGES_PER_SECOND,
  connectionMessagesPerSecond: config.CONNECTION_MAX_MESSAGES_PER_SECOND,
  maxCrossReferencesPerSecond: config.APP_MAX_CROSS_REFERENCES_PER_SECOND,
  maxNamesPerMessage: config.MESSAGE_MAX_NAMES,
  maxSubscriptionsPerConnection: config.CONNECTION_MAX_SUBSCRIPTIONS,
  maxListensPerConnection: config.CONNECTION_MAX_LISTENS,
  maxProvidesPerConnection: config.CONNECTION_MAX_PROVIDES,
  maxPendingRpcsPerConnection: config.CONNECTION_MAX_PENDING_RPCS,
});

function limitsView(row: AppLimits | null, config: Config) {
  const defaults = defaultsOf(config);
  const own = Object.fromEntries(
    LIMIT_NAMES.map((name) => [name, row?.[name] ?? null]),
  ) as OwnLimits;
  const effective = { ...defaults };
  for (const name of LIMIT_NAMES) effective[name] = own[name] ?? defaults[name];
  return {
    ...own,
    effective,
    defaults,
    maxima: { ...LIMIT_MAXIMA },
    updatedAt: row ? row.updatedAt.toISOString() : null,
  };
}

export const limitsRoutes: FastifyPluginAsyncTypebox<ControlPlaneContext> = async (
  app,
  context,
) => {
  const { prisma } = context.db;
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
      const row = await prisma.appLimits.findUnique({ where: { appId: found.id } });
      return limitsView(row, context.config);
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
      const saved = await prisma.$transaction(async (tx) => {
        const row = await tx.appLimits.upsert({
          where: { appId: found.id },
          create: { appId: found.id, ...changes },
          update: changes,
        });
        await audit(tx, {
          appId: found.id,
          principal,
          action: 'limits.updated',
          details: { changes },
        });
        return row;
      });
      await context.bus.publish(found.id, 'app.changed', { what: 'limits' });
      return limitsView(saved, context.config);
    },
  );
};
