import Value from 'typebox/value';
import { dataApiPaths } from './api-docs-data-api.ts';
import { errorReply } from './api-docs-errors.ts';
import { WHEN } from './api-docs-examples.ts';
import { ROUTE_DOCS } from './api-docs-routes.ts';
import { ErrorReply } from './schemas.ts';

// What /openapi.json and /docs say about each route beyond its TypeBox
// schema: what its success reply means, a worked example of it, and for each
// error status the codes it carries with an example. Applied by an onRoute
// hook (documentRoute), so a route file keeps only its schema; a route whose
// schema already describes its reply keeps its own words. The test
// api-reference.int.test.ts walks the document and fails on any route left
// without a summary, described replies or examples.
//
// The words and examples live beside this file: api-docs-routes.ts (each
// route's success), api-docs-errors.ts (error replies), api-docs-examples.ts
// (the sample account, app, key...), api-docs-data-api.ts (the realtime
// nodes' HTTP data API, added to the same document).

export { dataApiPaths, realtimeHttpUrl } from './api-docs-data-api.ts';
export { ERROR_DOCS } from './api-docs-errors.ts';
export { ROUTE_DOCS } from './api-docs-routes.ts';

type Schema = Record<string, unknown>;

const ISO = /(At|^minute|^from|^to)$/;

/** A plausible value for a JSON schema, from field names where the type says little. */
export function exampleOf(schema: unknown, name = ''): unknown {
  if (!schema || typeof schema !== 'object') return null;
  const s = schema as Schema;
  if (Array.isArray(s.examples) && s.examples.length > 0) return s.examples[0];
  if (s.default !== undefined) return s.default;
  if (s.const !== undefined) return s.const;
  if (Array.isArray(s.enum) && s.enum.length > 0) return s.enum[0];
  const branches = (s.anyOf ?? s.oneOf) as unknown[] | undefined;
  if (Array.isArray(branches)) {
    const nonNull = branches.find((b) => (b as Schema)?.type !== 'null') ?? branches[0];
    return exampleOf(nonNull, name);
  }
  switch (s.type) {
    case 'object': {
      const out: Record<string, unknown> = {};
      for (const [key, value] of Object.entries((s.properties ?? {}) as Record<string, unknown>))
        out[key] = exampleOf(value, key);
      return out;
    }
    case 'array': {
      const items = s.items as Schema | undefined;
      const choices = (items?.anyOf as Schema[] | undefined)?.map((b) => b.const);
      const count = Math.max(1, Number(s.minItems ?? 1));
      if (choices?.every((c) => c !== undefined) && choices.length >= count) return choices;
      return Array.from({ length: count }, () => exampleOf(items, name));
    }
    case 'integer':
    case 'number':
      return typeof s.minimum === 'number' ? Math.max(s.minimum, 1) : 1;
    case 'boolean':
      return true;
    case 'null':
      return null;
    case 'string': {
      if (ISO.test(name)) return WHEN;
      if (/email/i.test(name)) return 'ada@example.com';
      if (/url/i.test(name)) return 'https://example.com/hubstream/auth';
      if (/^(id|userId|keyId)$/.test(name)) return '019ae3c2-7f1b-7c4e-9a52-3d6f0e1b2a47';
      if (/secret/i.test(name)) return 'whsec_…';
      if (name === 'message') return 'Done.';
      return name || 'text';
    }
    default:
      return {};
  }
}

const isSchema = (value: unknown): value is Schema =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** The example to show for a success reply: the curated one when it fits the schema. */
export function successExample(schema: Schema, curated: unknown): unknown {
  if (curated !== undefined && Value.Check(schema as never, curated)) return curated;
  return exampleOf(schema);
}

/**
 * A route's schema as /openapi.json shows it: with the descriptions and
 * examples of ROUTE_DOCS and ERROR_DOCS (for @fastify/swagger's `transform`;
 * what the route validates and serialises is left alone).
 */
export function documentSchema(
  method: string | readonly string[],
  url: string,
  schema: Schema | undefined,
): Schema | undefined {
  const methods = typeof method === 'string' ? [method] : method;
  const doc = ROUTE_DOCS[`${methods.find((m) => m !== 'HEAD') ?? methods[0]} ${url}`];
  let documented = schema;
  if (doc?.schema && !schema?.response) documented = { ...doc.schema, ...schema };
  if (!documented || documented.hide || !isSchema(documented.response)) return documented;
  // Failures every such route has, whether or not its schema lists them:
  // the app routes check the caller (requireApp), a body may be malformed,
  // too large or of a type we do not read.
  const implied: number[] = [];
  if (url.startsWith('/v1/apps/:id')) implied.push(401, 403, 404);
  if (documented.body) implied.push(400, 413, 415);
  const replies: Schema = { ...documented.response };
  for (const status of implied) replies[status] ??= ErrorReply;
  const response: Schema = {};
  for (const [status, reply] of Object.entries(replies)) {
    if (!isSchema(reply)) {
      response[status] = reply;
      continue;
    }
    const code = Number(status);
    if (code >= 400) {
      response[status] = reply.description ? reply : errorReply(code, reply, url);
      continue;
    }
    const described: Schema = { ...reply };
    if (!described.description && doc) described.description = doc.success;
    if (reply.type !== 'null' && !Array.isArray(reply.examples))
      described.examples = [successExample(reply, doc?.example)];
    response[status] = described;
  }
  return { ...documented, response };
}

/**
 * Descriptions are CommonMark in /docs: `<token>` would be taken for an HTML
 * tag and vanish. Outside code spans, put such placeholders in one, and turn
 * any other `<` into an entity.
 */
export function escapeMarkdown(text: string): string {
  return text
    .split(/(`[^`]*`)/)
    .map((part, i) =>
      i % 2 === 1
        ? part
        : part.replace(/<([^<>\n`]{1,60})>|</g, (_all, inner: string | undefined) =>
            inner === undefined ? '&lt;' : `\`<${inner}>\``,
          ),
    )
    .join('');
}

/** escapeMarkdown on every description and summary of an OpenAPI document. */
export function escapeDocument<T>(value: T): T {
  if (Array.isArray(value)) return value.map((v) => escapeDocument(v)) as T;
  if (!isSchema(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    out[key] =
      (key === 'description' || key === 'summary') && typeof v === 'string'
        ? escapeMarkdown(v)
        : key === 'example' || key === 'examples'
          ? v
          : escapeDocument(v);
  }
  return out as T;
}

const LOGO = `<svg xmlns="http://www.w3.org/2000/svg" width="220" height="40" viewBox="0 0 220 40" role="img" aria-label="Hubstream">
<circle cx="20" cy="20" r="14" fill="none" stroke="#fff" stroke-width="4"/>
<circle cx="20" cy="20" r="5" fill="#ffbf47"/>
<text x="44" y="27" font-family="system-ui, sans-serif" font-size="20" font-weight="700" fill="#fff">Hubstream API</text>
</svg>`;

/** /docs as Hubstream's page: our title, logo and colours, not the framework's. */
export const DOCS_PAGE = {
  theme: {
    title: 'Hubstream API reference',
    css: [
      {
        filename: 'hubstream.css',
        content:
          '.swagger-ui .topbar { background: #111827; } .swagger-ui .topbar .download-url-wrapper { display: none; }',
      },
    ],
  },
  logo: { type: 'image/svg+xml', content: Buffer.from(LOGO), href: '/', target: '_self' as const },
};

/** The document as /openapi.json serves it: with the data API, its text made safe for /docs. */
export function completeDocument<T extends { paths?: Record<string, unknown> }>(
  document: T,
  realtimeUrl: string,
): T {
  return escapeDocument({
    ...document,
    paths: { ...document.paths, ...dataApiPaths(realtimeUrl) },
  });
}
