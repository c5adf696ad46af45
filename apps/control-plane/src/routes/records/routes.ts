import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { publicRealtimeUrl } from '@hubstream/config';
import Type from 'typebox';
import type { ControlPlaneContext } from '../../context.ts';
import { ApiError } from '../../errors.ts';
import { realtimeHttpUrl } from '../../lib/api-docs.ts';
import { AppIdParams, ErrorReply, errors } from '../../lib/schemas.ts';
import { conflict, fetchTransport, RealtimeData } from './realtime-data.ts';
import { auditRecord, listRecordRows } from './service.ts';

// The data browser: an app's records as stored in Postgres, listed by name
// with a prefix and keyset paging (an index range of the primary key, see
// migration 20261206150000), and one record read, replaced or deleted
// through a realtime node (realtime-data.ts) so that subscribers see it.
// In a cluster Postgres is written a moment behind the realtime nodes, so
// the list may trail the latest writes by that much; a record opened from
// it is read from a realtime node and is current.

/** Record names as long as this are accepted; longer ones are no names a client would use. */
const MAX_NAME_LENGTH = 1024;
/** How long one call to a realtime node may take before the request fails. */
const REALTIME_TIMEOUT_MS = 10_000;

const RecordName = Type.String({
  minLength: 1,
  maxLength: MAX_NAME_LENGTH,
  description: 'The record name (URL-encoded: "users/ada" is users%2Fada).',
});
const RecordParams = Type.Object({ id: AppIdParams.properties.id, name: RecordName });

const RecordSummary = Type.Object({
  name: Type.String(),
  version: Type.Integer(),
  updatedAt: Type.String(),
  isList: Type.Boolean({
    description: 'The data is an array (of record names): a deepstream list.',
  }),
});

const RecordList = Type.Object(
  {
    records: Type.Array(RecordSummary),
    next: Type.Union([Type.String(), Type.Null()], {
      description: 'Pass as `after` (with the same prefix) for the next page; null on the last.',
    }),
  },
  {
    description: 'A page of records in name order (byte order of their UTF-8).',
    examples: [
      {
        records: [
          {
            name: 'users/ada',
            version: 7,
            updatedAt: '2026-12-06T09:30:00.000Z',
            isList: false,
          },
          {
            name: 'users/all',
            version: 2,
            updatedAt: '2026-12-06T09:31:00.000Z',
            isList: true,
          },
        ],
        next: 'users/all',
      },
    ],
  },
);

const RecordData = Type.Union(
  [Type.Record(Type.String(), Type.Unknown()), Type.Array(Type.Unknown())],
  {
    description: 'A JSON object, or an array for a list.',
  },
);

const RecordView = Type.Object(
  {
    name: Type.String(),
    version: Type.Integer(),
    data: RecordData,
    isList: Type.Boolean(),
  },
  {
    description: 'The record as a realtime node holds it now.',
    examples: [{ name: 'users/ada', version: 7, data: { name: 'Ada', score: 42 }, isList: false }],
  },
);

const ConflictReply = Type.Object(ErrorReply.properties, {
  description:
    'VERSION_CONFLICT: the record is no longer at the version you sent; `details[0].currentVersion` is the version it has now (null: it was deleted).',
  examples: [
    {
      error: {
        code: 'VERSION_CONFLICT',
        message:
          'Record "users/ada" changed since you loaded it: it is at version 8 now. Load it again and redo your change.',
        details: [{ currentVersion: 8 }],
      },
    },
  ],
});

const DeniedReply = Type.Object(ErrorReply.properties, {
  description:
    'FORBIDDEN as for every app route, or DENIED_BY_PERMISSIONS: the app\'s Valve rules refused the change for user "hubstream:dashboard", the user edits from the dashboard act as.',
  examples: [
    {
      error: {
        code: 'DENIED_BY_PERMISSIONS',
        message:
          'The app\'s permissions refused this for user "hubstream:dashboard" (Message denied. Action "CREATEANDUPDATE" is not permitted.). Allow that user in the app\'s Valve rules to edit records from the dashboard.',
        details: [],
      },
    },
  ],
});

const UnavailableReply = Type.Object(ErrorReply.properties, {
  description:
    'REALTIME_UNAVAILABLE: no realtime node answered (REALTIME_INTERNAL_URL), or the record store failed there.',
  examples: [
    {
      error: {
        code: 'REALTIME_UNAVAILABLE',
        message:
          'The realtime nodes could not be reached to do this (fetch failed). Try again in a moment.',
        details: [],
      },
    },
  ],
});

const RateLimitedReply = Type.Object(ErrorReply.properties, {
  description:
    "RATE_LIMITED: the app's message rate limit (its limits) is used up on the realtime node: nothing was done.",
  examples: [
    {
      error: {
        code: 'RATE_LIMITED',
        message:
          "The app's message rate limit is reached (see its Limits page): nothing was done. Try again in a moment.",
        details: [],
      },
    },
  ],
});

const RecordNotFound = Type.Object(ErrorReply.properties, {
  description: 'NOT_FOUND: the app is not yours, or it has no record of this name.',
  examples: [
    {
      error: {
        code: 'NOT_FOUND',
        message: 'Record "users/ada" was not found.',
        details: [],
      },
    },
  ],
});

const isList = (data: unknown) => Array.isArray(data);

export const recordRoutes: FastifyPluginAsyncTypebox<ControlPlaneContext> = async (
  app,
  context,
) => {
  const { prisma } = context.db;
  const tags = ['records'];
  const transport =
    context.realtimeData ??
    fetchTransport(
      context.config.REALTIME_INTERNAL_URL ?? realtimeHttpUrl(publicRealtimeUrl(context.config)),
      REALTIME_TIMEOUT_MS,
    );
  const realtime = new RealtimeData(prisma, transport);

  app.get(
    '/apps/:id/records',
    {
      config: { access: 'data:read' },
      schema: {
        tags,
        summary: "List the app's records by name, optionally those starting with a prefix",
        description:
          'Pages of at most `limit` records in name order; `next` is the `after` of the next page. The prefix is matched as text (% and _ are no wildcards). Read from Postgres, which in a cluster trails the realtime nodes by the persistence delay.',
        params: AppIdParams,
        querystring: Type.Object(
          {
            prefix: Type.Optional(
              Type.String({
                maxLength: MAX_NAME_LENGTH,
                description: 'Only names starting with this.',
              }),
            ),
            after: Type.Optional(
              Type.String({
                maxLength: MAX_NAME_LENGTH,
                description: 'Page: names after this one (the `next` of the page before).',
              }),
            ),
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
          },
          { additionalProperties: false },
        ),
        response: { 200: RecordList, ...errors(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const { app: found } = request;
      const limit = request.query.limit ?? 50;
      const rows = await listRecordRows(context.db.sql, found.id, {
        prefix: request.query.prefix ?? '',
        after: request.query.after,
        limit: limit + 1,
      });
      const page = rows.slice(0, limit);
      return {
        records: page.map((row) => ({
          name: row.name,
          version: row.version,
          updatedAt: new Date(row.updated_at).toISOString(),
          isList: row.is_list,
        })),
        next: rows.length > limit ? page[page.length - 1]!.name : null,
      };
    },
  );

  app.get(
    '/apps/:id/records/:name',
    {
      config: { access: 'data:read' },
      schema: {
        tags,
        summary: 'Read one record: its data and version, from a realtime node',
        params: RecordParams,
        response: {
          200: RecordView,
          ...errors(401, 403),
          404: RecordNotFound,
          429: RateLimitedReply,
          503: UnavailableReply,
        },
      },
    },
    async (request) => {
      const { app: found } = request;
      const { name } = request.params;
      const record = await realtime.read(found.id, name);
      if (record === null) throw new ApiError('NOT_FOUND', `Record "${name}" was not found.`);
      return { name, version: record.version, data: record.data, isList: isList(record.data) };
    },
  );

  app.put(
    '/apps/:id/records/:name',
    {
      config: { access: 'data:write' },
      schema: {
        tags,
        summary: "Replace a record's data if it is still at the version you read",
        description:
          'Written through a realtime node, so subscribers get the update. `version` is the version you read (0 creates a record that does not exist); if the record has moved on, nothing is written and 409 names its current version.',
        params: RecordParams,
        body: Type.Object(
          {
            data: RecordData,
            version: Type.Integer({
              minimum: 0,
              description: 'The version the change is based on (If-Match).',
            }),
          },
          { additionalProperties: false },
        ),
        response: {
          200: RecordView,
          ...errors(400, 401),
          403: DeniedReply,
          404: RecordNotFound,
          409: ConflictReply,
          429: RateLimitedReply,
          503: UnavailableReply,
        },
      },
      // Before the schema's type coercion, which would make "text" into ["text"].
      preValidation: async (request) => {
        const { data } = (request.body ?? {}) as { data?: unknown };
        if (data !== undefined && (typeof data !== 'object' || data === null)) {
          throw new ApiError(
            'VALIDATION_FAILED',
            `The request body is invalid: /data must be a JSON object, or an array for a list, not ${data === null ? 'null' : typeof data}.`,
          );
        }
      },
    },
    async (request) => {
      const { app: found, principal } = request;
      const { name } = request.params;
      const { data, version } = request.body;
      const saved = await realtime.write(found.id, name, data, version);
      await auditRecord(
        prisma,
        found.id,
        principal,
        version === 0 ? 'created' : 'updated',
        name,
        saved,
      );
      return { name, version: saved, data, isList: isList(data) };
    },
  );

  app.delete(
    '/apps/:id/records/:name',
    {
      config: { access: 'data:write' },
      schema: {
        tags,
        summary: 'Delete a record (its subscribers are told)',
        description:
          'With `version`, only if the record is still at that version (checked just before the delete).',
        params: RecordParams,
        querystring: Type.Object(
          { version: Type.Optional(Type.Integer({ minimum: 1 })) },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object(
            { name: Type.String(), deleted: Type.Literal(true) },
            {
              description: 'The record is gone.',
              examples: [{ name: 'users/ada', deleted: true }],
            },
          ),
          ...errors(400, 401),
          403: DeniedReply,
          404: RecordNotFound,
          409: ConflictReply,
          429: RateLimitedReply,
          503: UnavailableReply,
        },
      },
    },
    async (request) => {
      const { app: found, principal } = request;
      const { name } = request.params;
      const current = await realtime.read(found.id, name);
      if (current === null) throw new ApiError('NOT_FOUND', `Record "${name}" was not found.`);
      const { version } = request.query;
      if (version !== undefined && current.version !== version) {
        throw conflict(name, current.version);
      }
      await realtime.delete(found.id, name);
      await auditRecord(prisma, found.id, principal, 'deleted', name, current.version);
      return { name, deleted: true as const };
    },
  );
};
