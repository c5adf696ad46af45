import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { limits } from '@hubstream/valve';
import Type from 'typebox';
import type { RouteContext } from '../../context.ts';
import { ApiError, notFound } from '../../errors.ts';
import { AppIdParams, errors } from '../../lib/schemas.ts';
import {
  activateVersion,
  findVersion,
  findVersionById,
  listVersions,
  publishVersion,
  validate,
  versionSummary,
  versionView,
} from './service.ts';

const Summary = Type.Object({
  version: Type.Integer(),
  format: Type.String(),
  author: Type.String(),
  template: Type.Union([Type.String(), Type.Null()], {
    description:
      'The starter template this version was made from ("development", "signed-in", "locked"); null when written by hand.',
  }),
  createdAt: Type.String(),
  active: Type.Boolean(),
});
const Version = Type.Object({ ...Summary.properties, valve: Type.String() });
const VersionParams = Type.Object({
  id: AppIdParams.properties.id,
  version: Type.Integer({ minimum: 1 }),
});
const Upload = Type.Union(
  [
    Type.String({ description: 'The Valve file as text/yaml (or text/plain).' }),
    Type.Object(
      { valve: Type.String({ description: 'The Valve file, YAML or JSON text.' }) },
      { additionalProperties: false },
    ),
  ],
  { description: 'text/yaml with the file, or application/json {"valve": "..."}.' },
);
const uploadLimit = limits.MAX_FILE_LENGTH * 2;

const textOf = (body: string | { valve: string }) => (typeof body === 'string' ? body : body.valve);

export const permissionRoutes: FastifyPluginAsyncTypebox<RouteContext> = async (app, context) => {
  const { prisma } = context.db;
  const tags = ['permissions'];

  app.put(
    '/apps/:id/permissions',
    {
      config: { access: 'rules:write' },
      bodyLimit: uploadLimit,
      schema: {
        tags,
        summary: 'Upload a Valve file: checked, stored as a new version and made active',
        params: AppIdParams,
        body: Upload,
        response: { 200: Type.Object({ version: Type.Integer() }), ...errors(400, 401, 404, 422) },
      },
    },
    async (request) => {
      const { app: found, principal } = request;
      const created = await publishVersion(
        context.appChanges,
        found.id,
        principal,
        textOf(request.body),
      );
      return { version: created.version };
    },
  );

  app.post(
    '/apps/:id/permissions/check',
    {
      config: { access: 'rules:write' },
      bodyLimit: uploadLimit,
      schema: {
        tags,
        summary: 'Check a Valve file without storing it',
        params: AppIdParams,
        body: Upload,
        response: {
          200: Type.Object({
            valid: Type.Literal(true),
            patterns: Type.Integer(),
            rules: Type.Integer(),
          }),
          ...errors(400, 401, 404, 422),
        },
      },
    },
    async (request) => {
      const report = validate(textOf(request.body));
      return { valid: true as const, ...report.stats };
    },
  );

  app.get(
    '/apps/:id/permissions',
    {
      config: { access: 'app:read' },
      schema: {
        tags,
        summary: 'The active permissions (404 when none: everything is denied)',
        params: AppIdParams,
        response: { 200: Version, ...errors(401, 404) },
      },
    },
    async (request) => {
      const { app: found } = request;
      if (!found.activePermissionVersionId) {
        throw new ApiError(
          'NOT_FOUND',
          'This app has no permissions yet, so every action is denied. Upload a Valve file.',
        );
      }
      const active = await findVersionById(prisma, found.activePermissionVersionId);
      return versionView(active, found.activePermissionVersionId);
    },
  );

  app.get(
    '/apps/:id/permissions/versions',
    {
      config: { access: 'app:read' },
      schema: {
        tags,
        summary: 'Every stored version, newest first',
        params: AppIdParams,
        response: { 200: Type.Object({ versions: Type.Array(Summary) }), ...errors(401, 404) },
      },
    },
    async (request) => {
      const { app: found } = request;
      const versions = await listVersions(prisma, found.id);
      return { versions: versions.map((v) => versionSummary(v, found.activePermissionVersionId)) };
    },
  );

  app.get(
    '/apps/:id/permissions/versions/:version',
    {
      config: { access: 'app:read' },
      schema: {
        tags,
        summary: 'One stored version with its file',
        params: VersionParams,
        response: { 200: Version, ...errors(400, 401, 404) },
      },
    },
    async (request) => {
      const { app: found } = request;
      const version = await findVersion(prisma, found.id, request.params.version);
      if (!version) throw notFound(`Permissions version ${request.params.version}`);
      return versionView(version, found.activePermissionVersionId);
    },
  );

  app.post(
    '/apps/:id/permissions/versions/:version/activate',
    {
      config: { access: 'rules:write' },
      schema: {
        tags,
        summary: 'Make a stored version the active one (rollback)',
        params: VersionParams,
        response: { 200: Type.Object({ version: Type.Integer() }), ...errors(400, 401, 404, 422) },
      },
    },
    async (request) => {
      const { app: found, principal } = request;
      const version = await activateVersion(
        context.db.prisma,
        context.appChanges,
        found.id,
        principal,
        request.params.version,
      );
      return { version: version.version };
    },
  );
};
