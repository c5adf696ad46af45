import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import type { ControlPlaneContext } from '../../context.ts';
import { AppIdParams, errors, JsonObject } from '../../lib/schemas.ts';
import { requireApp } from '../../plugins/auth.ts';

const AuditEventView = Type.Object({
  id: Type.String(),
  actor: Type.String(),
  action: Type.String(),
  target: Type.Union([Type.String(), Type.Null()]),
  details: JsonObject,
  createdAt: Type.String(),
});

export const auditRoutes: FastifyPluginAsyncTypebox<ControlPlaneContext> = async (app, context) => {
  const { prisma } = context.db;

  app.get(
    '/apps/:id/audit',
    {
      schema: {
        tags: ['audit'],
        summary: 'Who changed what on this app, newest first',
        params: AppIdParams,
        querystring: Type.Object(
          {
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
            before: Type.Optional(
              Type.String({
                // Ids are bigints: 18 digits keep any value in range.
                pattern: '^[0-9]{1,18}$',
                description: 'Page: events older than this id.',
              }),
            ),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            events: Type.Array(AuditEventView),
            next: Type.Union([Type.String(), Type.Null()]),
          }),
          ...errors(400, 401, 404),
        },
      },
    },
    async (request) => {
      const { app: found } = await requireApp(prisma, request, request.params.id);
      const limit = request.query.limit ?? 50;
      const events = await prisma.auditEvent.findMany({
        where: {
          appId: found.id,
          ...(request.query.before ? { id: { lt: BigInt(request.query.before) } } : {}),
        },
        orderBy: { id: 'desc' },
        take: limit + 1,
      });
      const page = events.slice(0, limit);
      return {
        events: page.map((e) => ({
          id: e.id.toString(),
          actor: e.actor,
          action: e.action,
          target: e.target,
          details: e.details as Record<string, unknown>,
          createdAt: e.createdAt.toISOString(),
        })),
        next: events.length > limit ? page[page.length - 1]!.id.toString() : null,
      };
    },
  );
};
