import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Prisma } from '@hubstream/db';
import Type from 'typebox';
import type { ControlPlaneContext } from '../../context.ts';
import { ApiError } from '../../errors.ts';
import { AppIdParams, errors, JsonObject, Uuid } from '../../lib/schemas.ts';
import { MAX_USER_DATA_BYTES } from '../app-users/service.ts';
import { createKey, listKeys, revokeKey } from './service.ts';

// An API key is `hsk_<8 visible characters>_<43 secret characters>`. Lists
// show the visible prefix; only the SHA-256 of the whole key is stored.
//
// Scopes, chosen when the key is created and fixed from then on:
// - users: manage the app's users through this control plane (the only thing
//   keys could do before scopes; a key created without `scopes` gets it);
// - data: the realtime nodes' HTTP data API (POST /<appId>/api) as a trusted
//   backend, as user `userId`, or "api-key:<name>" without one, with
//   user.data = serverData (or {}).

export const KEY_SCOPES = ['users', 'data'] as const;
export type KeyScope = (typeof KEY_SCOPES)[number];
export const DEFAULT_KEY_SCOPES: KeyScope[] = ['users'];
export const MAX_KEY_NAME_LENGTH = 100;
/** As long as a user id from the auth webhook may be. */
export const MAX_KEY_USER_ID_LENGTH = 256;
/** Ids that open logins get (README "One id space per app"): never a key's. */
const OPEN_ID_PREFIX = 'open:';
/** The prefix of a data key's user id when it names none. */
export const KEY_USER_ID_PREFIX = 'api-key:';

const Scope = Type.Union([Type.Literal('users'), Type.Literal('data')], {
  description:
    '`users`: manage the app users through this API; `data`: the realtime HTTP data API (`POST /{appId}/api`) as a trusted backend.',
});

const KeyView = Type.Object({
  id: Type.String(),
  name: Type.String(),
  prefix: Type.String(),
  scopes: Type.Array(Scope),
  userId: Type.Union([Type.String(), Type.Null()], {
    description: 'The fixed user id the key acts as on the data API, when it names one.',
  }),
  serverData: Type.Union([JsonObject, Type.Null()], {
    description: 'user.data that rules see for data API requests made with the key.',
  }),
  dataUserId: Type.Union([Type.String(), Type.Null()], {
    description:
      'The user.id that rules see for data API requests made with the key: `userId`, or "api-key:" and its name. Null without the data scope.',
  }),
  createdAt: Type.String(),
  lastUsedAt: Type.Union([Type.String(), Type.Null()]),
  revokedAt: Type.Union([Type.String(), Type.Null()]),
});

const CreatedKey = Type.Object({
  ...KeyView.properties,
  key: Type.String({ description: 'Shown only in this reply: store it now.' }),
});

const CreateKeyBody = Type.Object(
  {
    name: Type.String({
      minLength: 1,
      maxLength: MAX_KEY_NAME_LENGTH,
      description: 'What the key is for, e.g. "Backend". Shown in lists and the audit log.',
    }),
    scopes: Type.Optional(
      Type.Array(Scope, {
        minItems: 1,
        maxItems: KEY_SCOPES.length,
        uniqueItems: true,
        description: 'What the key may do; without it, `["users"]` (what keys did before scopes).',
      }),
    ),
    userId: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: MAX_KEY_USER_ID_LENGTH,
        description:
          'Data keys: the user.id rules see. Without it: "api-key:" and the name. Never starting with "open:".',
      }),
    ),
    serverData: Type.Optional(
      Type.Record(Type.String(), Type.Unknown(), {
        description: `Data keys: the user.data rules see, e.g. {"role": "backend"} (at most ${MAX_USER_DATA_BYTES} bytes as JSON).`,
      }),
    ),
  },
  { additionalProperties: false },
);

type KeyRow = {
  id: string;
  name: string;
  prefix: string;
  scopes: string[] | null;
  userId: string | null;
  serverData: Prisma.JsonValue | null;
  createdAt: Date;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
};

/** The scopes of a stored key (a null column reads as none). */
export const scopesOf = (k: { scopes: string[] | null }): KeyScope[] =>
  (k.scopes ?? []).filter((s): s is KeyScope => (KEY_SCOPES as readonly string[]).includes(s));

/** The user.id of the key's data API requests, or null without the data scope. */
export const dataUserIdOf = (k: KeyRow): string | null =>
  scopesOf(k).includes('data') ? (k.userId ?? `${KEY_USER_ID_PREFIX}${k.name || k.prefix}`) : null;

const keyView = (k: KeyRow) => ({
  id: k.id,
  name: k.name,
  prefix: k.prefix,
  scopes: scopesOf(k),
  userId: k.userId,
  serverData: (k.serverData ?? null) as Record<string, unknown> | null,
  dataUserId: dataUserIdOf(k),
  createdAt: k.createdAt.toISOString(),
  lastUsedAt: k.lastUsedAt?.toISOString() ?? null,
  revokedAt: k.revokedAt?.toISOString() ?? null,
});

const invalid = (path: string, message: string) =>
  new ApiError('VALIDATION_FAILED', `The request body is invalid: ${path} ${message}.`, [
    { in: 'body', path, message },
  ]);

/** What the schema cannot say; throws a 400 naming the field. */
function checkCreate(body: {
  name: string;
  scopes?: KeyScope[];
  userId?: string;
  serverData?: Record<string, unknown>;
}) {
  const name = body.name.trim();
  if (name === '') throw invalid('/name', 'must not be blank');
  const scopes = body.scopes ?? DEFAULT_KEY_SCOPES;
  const data = scopes.includes('data');
  if (body.userId !== undefined) {
    if (!data)
      throw invalid(
        '/userId',
        'applies only to keys with the "data" scope (the user id of data API requests)',
      );
    if (body.userId.trim() !== body.userId || body.userId.trim() === '')
      throw invalid('/userId', 'must not be blank or start or end with spaces');
    if (body.userId.startsWith(OPEN_ID_PREFIX))
      throw invalid('/userId', `must not start with "${OPEN_ID_PREFIX}" (the ids of open logins)`);
  }
  if (body.serverData !== undefined) {
    if (!data)
      throw invalid(
        '/serverData',
        'applies only to keys with the "data" scope (the user.data of data API requests)',
      );
    if (Buffer.byteLength(JSON.stringify(body.serverData)) > MAX_USER_DATA_BYTES)
      throw invalid('/serverData', `must be at most ${MAX_USER_DATA_BYTES} bytes as JSON`);
  }
  return {
    name,
    scopes,
    userId: body.userId ?? null,
    serverData: body.serverData ?? null,
  };
}

export const keyRoutes: FastifyPluginAsyncTypebox<ControlPlaneContext> = async (app, context) => {
  const tags = ['api keys'];

  app.post(
    '/apps/:id/keys',
    {
      config: { access: 'keys:manage' },
      schema: {
        tags,
        summary: 'Create an API key with its scopes (the key is shown once)',
        params: AppIdParams,
        body: CreateKeyBody,
        response: { 201: CreatedKey, ...errors(400, 401, 403, 404) },
      },
    },
    async (request, reply) => {
      const { app: found, principal } = request;
      const input = checkCreate(request.body);
      const { created, key } = await createKey(context.db.prisma, found.id, principal, input);
      return reply.code(201).send({ ...keyView(created), key });
    },
  );

  app.get(
    '/apps/:id/keys',
    {
      config: { access: 'app:read' },
      schema: {
        tags,
        summary: "List the app's API keys",
        params: AppIdParams,
        response: { 200: Type.Object({ keys: Type.Array(KeyView) }), ...errors(401, 403, 404) },
      },
    },
    async (request) => {
      const { app: found } = request;
      const keys = await listKeys(context.db.prisma, found.id);
      return { keys: keys.map(keyView) };
    },
  );

  app.delete(
    '/apps/:id/keys/:keyId',
    {
      config: { access: 'keys:manage' },
      schema: {
        tags,
        summary: 'Revoke an API key (it stops working at once)',
        params: Type.Object({ id: AppIdParams.properties.id, keyId: Uuid }),
        response: { 200: KeyView, ...errors(401, 403, 404) },
      },
    },
    async (request) => {
      const { app: found, principal } = request;
      const revoked = await revokeKey(context.db.prisma, found.id, principal, request.params.keyId);
      return keyView(revoked);
    },
  );
};
