import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { lazySchemaController } from '../src/lazy-schema-compilers.ts';

// The production path (eager off): schemas compile on a route's first
// request, and validation and serialization behave as Fastify's defaults.

const BODY = {
  type: 'object',
  required: ['name'],
  additionalProperties: false,
  properties: { name: { type: 'string', minLength: 2 }, count: { type: 'integer' } },
} as const;

function server(eager: boolean) {
  const app = Fastify({
    ajv: { customOptions: { removeAdditional: false, allErrors: true } },
    schemaController: lazySchemaController({ eager }),
  });
  app.post(
    '/things',
    {
      schema: {
        body: BODY,
        querystring: {
          type: 'object',
          properties: { limit: { type: 'integer', maximum: 10 } },
        },
        response: {
          200: {
            type: 'object',
            properties: { name: { type: 'string' }, limit: { type: 'integer' } },
          },
        },
      },
    },
    async (request) => ({
      ...(request.body as object),
      limit: (request.query as { limit?: number }).limit,
      secret: 'not in the response schema',
    }),
  );
  return app;
}

describe('lazySchemaController', () => {
  for (const eager of [false, true]) {
    it(`validates, coerces and serializes as Fastify does (eager: ${eager})`, async () => {
      const app = server(eager);
      const ok = await app.inject({
        method: 'POST',
        url: '/things?limit=3',
        payload: { name: 'ab', count: 1 },
      });
      expect(ok.statusCode).toBe(200);
      // The query string is coerced to an integer; the serializer drops unknown fields.
      expect(ok.json()).toEqual({ name: 'ab', limit: 3 });

      const bad = await app.inject({
        method: 'POST',
        url: '/things?limit=30',
        payload: { name: 'a', extra: true },
      });
      expect(bad.statusCode).toBe(400);
      // ajv's own messages, every error of the part that failed first (allErrors).
      expect(bad.json().message).toBe(
        'body must NOT have additional properties, body/name must NOT have fewer than 2 characters',
      );
      const badQuery = await app.inject({
        method: 'POST',
        url: '/things?limit=30',
        payload: { name: 'ab' },
      });
      expect(badQuery.statusCode).toBe(400);
      expect(badQuery.json().message).toBe('querystring/limit must be <= 10');

      const badBody = await app.inject({ method: 'POST', url: '/things', payload: { name: 'a' } });
      expect(badBody.statusCode).toBe(400);
      expect(badBody.json().message).toBe('body/name must NOT have fewer than 2 characters');
      await app.close();
    });
  }

  it('compiles nothing until a route is called, then reports a bad schema on that call', async () => {
    const app = Fastify({ schemaController: lazySchemaController({ eager: false }) });
    app.post('/broken', { schema: { body: { type: 'no-such-type' } } }, async () => ({}));
    // An eager compiler would refuse this schema here.
    await app.ready();
    const response = await app.inject({ method: 'POST', url: '/broken', payload: {} });
    expect(response.statusCode).toBe(500);
    await app.close();

    const eager = Fastify({ schemaController: lazySchemaController({ eager: true }) });
    eager.post('/broken', { schema: { body: { type: 'no-such-type' } } }, async () => ({}));
    await expect(eager.ready()).rejects.toThrow(/schema/i);
  });
});
