import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
// The realtime node's own webhook strategy, so the test call is exactly the
// call a login makes (body, signature, retries, private-address guard, reply
// contract).
import { type SentRequest, webhookStrategy } from '@hubstream/auth';
import Type from 'typebox';
import type { ControlPlaneContext } from '../../context.ts';
import { ApiError } from '../../errors.ts';
import { AppIdParams, errors, JsonObject } from '../../lib/schemas.ts';
import { findSettings } from '../auth-settings/service.ts';

const TestBody = Type.Object(
  {
    authData: Type.Optional(
      Type.Record(Type.String(), Type.Unknown(), {
        description: 'What a client would pass to login(); defaults to a sample.',
      }),
    ),
  },
  { additionalProperties: false },
);

const TestReply = Type.Object({
  verdict: Type.Union([Type.Literal('allowed'), Type.Literal('denied')]),
  id: Type.Union([Type.String(), Type.Null()]),
  clientData: Type.Unknown({ description: 'What the client would receive.' }),
  serverData: Type.Union([JsonObject, Type.Unknown()], {
    description: 'What the rules would see as user.data (allowed only).',
  }),
  durationMs: Type.Integer(),
  request: Type.Union(
    [
      Type.Object({
        method: Type.String(),
        url: Type.String(),
        headers: Type.Record(Type.String(), Type.String()),
        body: Type.String({ description: 'The JSON body, byte for byte as signed.' }),
      }),
      Type.Null(),
    ],
    { description: 'The request that was sent (each retry sends the same).' },
  ),
});

export const SAMPLE_AUTH_DATA = { username: 'sample-user', password: 'sample-password' };

export const webhookTestRoutes: FastifyPluginAsyncTypebox<ControlPlaneContext> = async (
  app,
  context,
) => {
  app.post(
    '/apps/:id/auth/webhook/test',
    {
      config: { access: 'app:write' },
      schema: {
        tags: ['auth settings'],
        summary: "Call the app's saved auth webhook with sample authData and show its verdict",
        description:
          'Makes the same request a login makes (with retries); nothing is stored and no one is logged in.',
        params: AppIdParams,
        body: TestBody,
        response: { 200: TestReply, ...errors(400, 401, 403, 404, 422) },
      },
    },
    async (request) => {
      const { app: found } = request;
      const settings = await findSettings(context.db.prisma, found.id);
      if (!settings?.webhookUrl) {
        throw new ApiError(
          'INVALID_SETTINGS',
          'This app has no webhook URL yet: save one in the auth settings first.',
        );
      }
      const started = Date.now();
      let sent: SentRequest | null = null;
      const verdict = await webhookStrategy(
        request.body.authData ?? SAMPLE_AUTH_DATA,
        {
          appId: found.id,
          settings,
          info: { remoteAddress: request.ip, headers: {} },
          log: request.log,
          allowPrivateAddresses: context.config.WEBHOOK_ALLOW_PRIVATE_ADDRESSES === 'true',
          webhookLoginTimeoutMs: context.config.WEBHOOK_LOGIN_TIMEOUT_MS,
        },
        (made) => {
          sent = made;
        },
      );
      const durationMs = Date.now() - started;
      if (verdict.kind === 'allow') {
        return {
          verdict: 'allowed' as const,
          id: verdict.user.id,
          clientData: verdict.clientData,
          serverData: verdict.user.data,
          durationMs,
          request: sent,
        };
      }
      return {
        verdict: 'denied' as const,
        id: null,
        clientData: verdict.kind === 'deny' ? (verdict.clientData ?? null) : null,
        serverData: null,
        durationMs,
        request: sent,
      };
    },
  );
};
