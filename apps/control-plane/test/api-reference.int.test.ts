import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DOCS_PAGE, ERROR_DOCS, escapeMarkdown, ROUTE_DOCS } from '../src/lib/api-docs.ts';
import { type Harness, startControlPlane } from './harness.ts';

// Issue 13.7: every route in /openapi.json has a summary, its success and
// error replies described, and an example of each; the curated examples fit
// the schemas; /docs is Hubstream's page and renders its text as written.

type Media = { schema?: unknown; example?: unknown; examples?: Record<string, unknown> };
type Reply = { description?: string; content?: Record<string, Media> };
type Operation = { summary?: string; responses?: Record<string, Reply> };
type Doc = { info: { description: string }; paths: Record<string, Record<string, Operation>> };

const exampleOf = (reply: Reply) => {
  const media = Object.values(reply.content ?? {})[0];
  return media?.example ?? Object.values(media?.examples ?? {})[0];
};

describe('the API reference', () => {
  let h: Harness;
  let doc: Doc;
  beforeAll(async () => {
    h = await startControlPlane('pglite', {
      env: { PUBLIC_REALTIME_URL: 'wss://rt.example.test:7443' },
    });
    doc = (await h.call('GET', '/openapi.json')).body;
  });
  afterAll(async () => {
    await h?.close();
  });

  const operations = () =>
    Object.entries(doc.paths as Record<string, Record<string, Operation>>).flatMap(
      ([path, methods]) =>
        Object.entries(methods).map(([method, op]) => ({
          id: `${method.toUpperCase()} ${path}`,
          path,
          op,
        })),
    );

  it('gives every route a summary, described replies and an example of each', () => {
    const problems: string[] = [];
    expect(operations().length).toBeGreaterThan(30);
    for (const { id, path, op } of operations()) {
      if (!op.summary?.trim()) problems.push(`${id}: no summary`);
      const replies = Object.entries(op.responses ?? {});
      const success = replies.filter(([status]) => status.startsWith('2'));
      if (success.length === 0) problems.push(`${id}: no success reply`);
      for (const [status, reply] of replies) {
        if (!reply.description || reply.description === 'Default Response')
          problems.push(`${id} ${status}: no description`);
        if (reply.content && exampleOf(reply) === undefined)
          problems.push(`${id} ${status}: no example`);
        // The realtime data API fails in plain text, as deepstream does.
        if (status >= '400' && reply.content?.['text/plain']) {
          if (typeof exampleOf(reply) !== 'string' || !exampleOf(reply))
            problems.push(`${id} ${status}: no text example`);
        } else if (status >= '400') {
          const example = exampleOf(reply) as { error?: { code?: string } } | undefined;
          if (!example?.error?.code) problems.push(`${id} ${status}: the example is not an error`);
        }
      }
      // Every API route says how it fails.
      if (path.startsWith('/v1/') && !replies.some(([status]) => status >= '400'))
        problems.push(`${id}: no error replies`);
    }
    expect(problems).toEqual([]);
  });

  it('shows each curated example, which means it fits the schema of its reply', () => {
    const byId = new Map(operations().map((o) => [o.id, o.op]));
    const stale: string[] = [];
    for (const [key, entry] of Object.entries(ROUTE_DOCS)) {
      const [method, url] = key.split(' ') as [string, string];
      const op = byId.get(`${method} ${url.replace(/:(\w+)/g, '{$1}')}`);
      if (!op) {
        stale.push(`${key}: no such route`);
        continue;
      }
      if (entry.example === undefined) continue;
      const success = Object.entries(op.responses ?? {}).find(([s]) => s.startsWith('2'));
      expect(success, key).toBeDefined();
      expect(exampleOf(success![1]), key).toEqual(entry.example);
    }
    expect(stale).toEqual([]);
  });

  it('documents the error replies with their codes', () => {
    const created = operations().find((o) => o.id === 'POST /v1/apps')!.op;
    expect(created.responses?.['401']?.description).toBe(ERROR_DOCS[401]!.description);
    expect(exampleOf(created.responses!['401']!)).toEqual({
      error: { code: 'UNAUTHENTICATED', message: expect.any(String), details: [] },
    });
    expect(created.responses?.['201']?.description).toContain('template');
    // The failures every app route and every body has are listed too.
    const addUser = operations().find((o) => o.id === 'POST /v1/apps/{id}/users')!.op;
    expect(Object.keys(addUser.responses ?? {})).toEqual(
      expect.arrayContaining(['201', '400', '401', '403', '404', '409', '413', '415']),
    );
  });

  it("documents the realtime nodes' data API, served at the realtime URL", () => {
    type DataDoc = {
      post?: Operation & {
        servers?: { url: string }[];
        requestBody?: { content: Record<string, { example?: { body?: unknown[] } }> };
      };
    };
    const paths = doc.paths as unknown as Record<string, DataDoc>;
    for (const path of ['/{appId}/api', '/{appId}/api/auth']) {
      const item = paths[path];
      expect(item?.post?.summary, path).toBeTruthy();
      // Not this control plane: the realtime nodes, over http(s).
      expect(item?.post?.servers?.[0]?.url, path).toBe('https://rt.example.test:7443');
      expect(Object.keys(item?.post?.responses ?? {})).toEqual(
        expect.arrayContaining(['200', '400', '401', '404', '415']),
      );
    }
    const api = paths['/{appId}/api']!.post!;
    expect(api.responses?.['403']?.description).toContain('"data" scope');
    const example = api.requestBody?.content['application/json']?.example;
    expect(example?.body).toContainEqual(
      expect.objectContaining({ topic: 'event', action: 'emit' }),
    );
    expect(exampleOf(api.responses!['200']!)).toMatchObject({ result: 'PARTIAL_SUCCESS' });
  });

  it('keeps <placeholders> visible: no raw HTML in any text the page renders as Markdown', () => {
    expect(doc.info.description).toContain('`Authorization: Bearer <token>`');
    const raw: string[] = [];
    const walk = (value: unknown, key = '') => {
      if (typeof value === 'string') {
        if ((key === 'description' || key === 'summary') && /</.test(value.replace(/`[^`]*`/g, '')))
          raw.push(value);
      } else if (Array.isArray(value)) {
        for (const v of value) walk(v);
      } else if (value && typeof value === 'object')
        for (const [k, v] of Object.entries(value))
          if (k !== 'example' && k !== 'examples') walk(v, k);
    };
    walk(doc);
    expect(raw).toEqual([]);
    expect(escapeMarkdown('Send "Bearer <token>"; `a <b>` stays; 1 < 2')).toBe(
      'Send "Bearer `<token>`"; `a <b>` stays; 1 &lt; 2',
    );
  });

  it('serves /docs as Hubstream’s page, without the framework’s logo', async () => {
    const page = await fetch(`${h.url}/docs/`);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('<title>Hubstream API reference</title>');
    const init = await (await fetch(`${h.url}/docs/static/swagger-initializer.js`)).text();
    expect(init).toContain(
      `data:image/svg+xml;base64,${Buffer.from(DOCS_PAGE.logo.content).toString('base64')}`,
    );
  });
});
