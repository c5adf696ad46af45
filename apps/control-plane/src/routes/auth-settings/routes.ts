import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { RouteContext } from '../../context.ts';
import { AppIdParams, errors } from '../../lib/schemas.ts';
import { AuthSettingsBody, AuthSettingsView } from './schemas.ts';
import { checkWebhookAddress, readSettings, saveSettings, settingsView } from './service.ts';

export const authSettingsRoutes: FastifyPluginAsyncTypebox<RouteContext> = async (app, context) => {
  const tags = ['auth settings'];

  app.get(
    '/apps/:id/auth',
    {
      config: { access: 'app:read' },
      schema: {
        tags,
        summary: "How the app's end users log in",
        params: AppIdParams,
        response: { 200: AuthSettingsView, ...errors(401, 403, 404) },
      },
    },
    async (request) => {
      const { app: found } = request;
      return settingsView(await readSettings(context.db.prisma, found.id));
    },
  );

  app.put(
    '/apps/:id/auth',
    {
      config: { access: 'app:write' },
      schema: {
        tags,
        summary: 'Switch on, off and configure open, email and webhook auth',
        description:
          'Parts left out keep their values. Realtime nodes apply the change to new logins at once. A webhook URL on a loopback or private address is refused (422, naming the setting WEBHOOK_ALLOW_PRIVATE_ADDRESSES) unless the server allows such addresses.',
        params: AppIdParams,
        body: AuthSettingsBody,
        response: { 200: AuthSettingsView, ...errors(400, 401, 403, 404, 422) },
      },
    },
    async (request) => {
      const { app: found, principal } = request;
      await checkWebhookAddress(
        request.body.webhook?.url,
        context.config.WEBHOOK_ALLOW_PRIVATE_ADDRESSES === 'true',
      );
      const updated = await saveSettings(context.appChanges, found.id, principal, request.body);
      return settingsView(updated);
    },
  );
};
