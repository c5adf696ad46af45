import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import type { ControlPlaneContext } from '../../context.ts';
import { AppIdParams, errors } from '../../lib/schemas.ts';
import { usageSince } from './service.ts';

// An app's per-minute usage samples (written by the realtime nodes' usage
// reporter), for the dashboard's charts. Minutes without a sample had no
// traffic; the reply lists only the stored ones.

const MAX_MINUTES = 7 * 24 * 60;

const Sample = Type.Object({
  minute: Type.String({ description: 'Start of the minute (ISO 8601, UTC).' }),
  peakConnections: Type.Integer(),
  messagesIn: Type.Integer(),
  messagesOut: Type.Integer(),
  denied: Type.Integer(),
  rateLimited: Type.Integer(),
});

const UsageQuery = Type.Object(
  {
    minutes: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: MAX_MINUTES,
        default: 60,
        description: 'How many minutes back from now (at most 7 days).',
      }),
    ),
  },
  { additionalProperties: false },
);

export const UsageReply = Type.Object({
  from: Type.String(),
  to: Type.String(),
  samples: Type.Array(Sample),
});

export const usageRoutes: FastifyPluginAsyncTypebox<ControlPlaneContext> = async (app, context) => {
  app.get(
    '/apps/:id/usage',
    {
      config: { access: 'app:read' },
      schema: {
        tags: ['usage'],
        summary: 'Connections and messages per minute, oldest first',
        params: AppIdParams,
        querystring: UsageQuery,
        response: { 200: UsageReply, ...errors(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const { app: found } = request;
      const to = new Date();
      const from = new Date(to.getTime() - (request.query.minutes ?? 60) * 60_000);
      from.setUTCSeconds(0, 0);
      const rows = await usageSince(context.db.prisma, found.id, from);
      return {
        from: from.toISOString(),
        to: to.toISOString(),
        samples: rows.map((r) => ({
          minute: r.minute.toISOString(),
          peakConnections: r.peakConnections,
          messagesIn: Number(r.messagesIn),
          messagesOut: Number(r.messagesOut),
          denied: Number(r.denied),
          rateLimited: Number(r.rateLimited),
        })),
      };
    },
  );
};
