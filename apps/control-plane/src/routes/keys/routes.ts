import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { API_KEY_PREFIX, type ControlPlaneContext } from '../../context.ts';
import { notFound } from '../../errors.ts';
import { audit } from '../../lib/audit.ts';
import { randomId } from '../../lib/ids.ts';
import { AppIdParams, errors, Uuid } from '../../lib/schemas.ts';
import { randomToken, sha256 } from '../../lib/secrets.ts';
import { requireApp } from '../../plugins/auth.ts';

// An API key is `hsk_<8 visible characters>_<43 secret characters>`. Lists
// show the visible prefix; only the SHA-256 of the whole key is stored.

const KeyView = Type.Object({
  id: Type.String(),
  name: Type.String(),
  prefix: Type.String(),
  createdAt: Type.String(),
  lastUsedAt: Type.Union([Type.String(), Type.Null()]),
  revokedAt: Type.Union([Type.String(), Type.Null()]),
});

const CreatedKey = Type.Object({
  id: Type.String(),
  key: Type.String({ description: 'Shown only in this reply: store it now.' }),
  name: Type.String(),
  prefix: Type.String(),
  createdAt: Type.String(),
});

type KeyRow = {
  id: string;
  name: string;
  prefix: string;
  createdAt: Date;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
};

const keyView = (k: KeyRow) => ({
  id: k.id,
  name: k.name,
  prefix: k.prefix,
  createdAt: k.createdAt.toISOString(),
  lastUsedAt: k.lastUsedAt?.toISOString() ?? null,
  revokedAt: k.revokedAt?.toISOString() ?? null,
});

export const keyRoutes: FastifyPluginAsyncTypebox<ControlPlaneContext> = async (app, context) => {
  const { prisma } = context.db;
  const tags = ['api keys'];

  app.post(
    '/apps/:id/keys',
    {
      schema: {
        tags,
        summary: 'Create an API key (the key is shown once)',
        params: AppIdParams,
        body: Type.Object(
          { name: Type.Optional(Type.String({ maxLength: 100 })) },
          { additionalProperties: false },
        ),
        response: { 201: CreatedKey, ...errors(400, 401, 403, 404) },
      },
    },
    async (request, reply) => {
      const { app: found, principal } = await requireApp(prisma, request, request.params.id);
      const prefix = `${API_KEY_PREFIX}${randomId(8)}`;
      const key = randomToken(`${prefix}_`);
      const created = await prisma.apiKey.create({
        data: {
          appId: found.id,
          name: request.body.name?.trim() ?? '',
          prefix,
          keyHash: sha256(key),
        },
      });
      await audit(prisma, {
        appId: found.id,
        principal,
        action: 'key.created',
        target: prefix,
        details: { name: created.name },
      });
      return reply.code(201).send({
        id: created.id,
        key,
        name: created.name,
        prefix,
        createdAt: created.createdAt.toISOString(),
      });
    },
  );

  app.get(
    '/apps/:id/keys',
    {
      schema: {
        tags,
        summary: "List the app's API keys",
        params: AppIdParams,
        response: { 200: Type.Object({ keys: Type.Array(KeyView) }), ...errors(401, 403, 404) },
      },
    },
    async (request) => {
      const { app: found } = await requireApp(prisma, request, request.params.id);
      const keys = await prisma.apiKey.findMany({
        where: { appId: found.id },
        orderBy: { createdAt: 'asc' },
      });
      return { keys: keys.map(keyView) };
    },
  );

  app.delete(
    '/apps/:id/keys/:keyId',
    {
      schema: {
        tags,
        summary: 'Revoke an API key (it stops working at once)',
        params: Type.Object({ id: AppIdParams.properties.id, keyId: Uuid }),
        response: { 200: KeyView, ...errors(401, 403, 404) },
      },
    },
    async (request) => {
      const { app: found, principal } = await requireApp(prisma, request, request.params.id);
      const key = await prisma.apiKey.findFirst({
        where: { id: request.params.keyId, appId: found.id },
      });
      if (!key) throw notFound(`API key ${request.params.keyId}`);
      if (key.revokedAt) return keyView(key);
      const revoked = await prisma.apiKey.update({
        where: { id: key.id },
        data: { revokedAt: new Date() },
      });
      await audit(prisma, {
        appId: found.id,
        principal,
        action: 'key.revoked',
        target: key.prefix,
      });
      return keyView(revoked);
    },
  );
};
