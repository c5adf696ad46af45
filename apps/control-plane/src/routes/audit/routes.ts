import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import type { ControlPlaneContext } from '../../context.ts';
import { AppIdParams, errors, JsonObject } from '../../lib/schemas.ts';
import { findAuditEvents } from './service.ts';

const AuditEventView = Type.Object({
  id: Type.String(),
  actor: Type.String(),
  action: Type.String(),
  target: Type.Union([Type.String(), Type.Null()]),
  details: JsonObject,
  createdAt: Type.String(),
});

export const auditRoutes: FastifyPluginAsyncTypebox<ControlPlaneContext> = async (app, context) => {
  app.get(
    '/apps/:id/audit',
    {
      config: { access: 'app:read' },
      schema: {
        tags: ['audit'],
        summary: 'Who changed what on this app, newest first',
        description:
          'Filters (actor, action, since, until) combine; `next` pages on with the same filters.',
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
            actor: Type.Optional(
              Type.String({
                minLength: 1,
                maxLength: 320,
                description:
                  'Only events by this actor: a developer\'s email or "api key <prefix>" (any part of it, any case).',
              }),
            ),
            action: Type.Optional(
              Type.String({
                pattern: '^[a-z][a-z-]*(\\.[a-z][a-z-]*)?$',
                maxLength: 64,
                description:
                  'Only events of this action (such as "limits.updated"), or of every action of a kind ("limits").',
              }),
            ),
            since: Type.Optional(
              Type.String({
                format: 'date-time',
                description: 'Only events at or after this time (ISO 8601).',
              }),
            ),
            until: Type.Optional(
              Type.String({
                format: 'date-time',
                description: 'Only events before this time (ISO 8601).',
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
      const { app: found } = request;
      const limit = request.query.limit ?? 50;
      const events = await findAuditEvents(context.db.prisma, found.id, {
        ...request.query,
        limit: limit + 1,
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
