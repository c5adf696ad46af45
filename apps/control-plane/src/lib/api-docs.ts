import { TEMPLATES } from '@hubstream/valve';
import Value from 'typebox/value';
import { AUTH_PROBLEMS, LACKS_USERS_SCOPE } from '../plugins/auth.ts';
import { LIMIT_MAXIMA } from '../routes/limits/schemas.ts';
import { ErrorReply } from './schemas.ts';

// What /openapi.json and /docs say about each route beyond its TypeBox
// schema: what its success reply means, a worked example of it, and for each
// error status the codes it carries with an example. Applied by an onRoute
// hook (documentRoute), so a route file keeps only its schema; a route whose
// schema already describes its reply keeps its own words. The test
// api-reference.int.test.ts walks the document and fails on any route left
// without a summary, described replies or examples.

type Schema = Record<string, unknown>;

/** What the error replies of each status mean, with an example body. */
export const ERROR_DOCS: Record<number, { description: string; code: string; message: string }> = {
  400: {
    description:
      'VALIDATION_FAILED, INVALID_JSON or INVALID_TOKEN: the request is malformed; the message and `details` name each field and what is wrong with it.',
    code: 'VALIDATION_FAILED',
    message: 'The request body is invalid: /name must NOT have fewer than 1 characters.',
  },
  401: {
    description:
      'UNAUTHENTICATED: no session cookie, session token or API key was sent, or the one sent is malformed, unknown, revoked or expired (the message says which); INVALID_CREDENTIALS on login: wrong email or password.',
    code: 'UNAUTHENTICATED',
    message: AUTH_PROBLEMS.missing,
  },
  403: {
    description:
      'FORBIDDEN: who is asking may not do this: an API key of another app, an API key outside its app\'s user routes, or one without the "users" scope on them. WRONG_PASSWORD on the account routes that ask for the current password: it is not the account\'s.',
    code: 'FORBIDDEN',
    message: 'App API keys can only manage the app users of their own app.',
  },
  404: {
    description:
      'NOT_FOUND: the app, user, key or version does not exist, or belongs to another account.',
    code: 'NOT_FOUND',
    message: 'App k3j2h1g9f8d7 was not found.',
  },
  409: {
    description:
      'EMAIL_TAKEN, EMAIL_ALREADY_VERIFIED or USER_EXISTS: the change conflicts with what is stored.',
    code: 'USER_EXISTS',
    message: 'An app user with this email already exists.',
  },
  413: {
    description: 'PAYLOAD_TOO_LARGE: the body is larger than this route accepts.',
    code: 'PAYLOAD_TOO_LARGE',
    message: 'The request body is too large.',
  },
  415: {
    description: 'UNSUPPORTED_MEDIA_TYPE: send application/json (or text/yaml for Valve files).',
    code: 'UNSUPPORTED_MEDIA_TYPE',
    message: 'Unsupported content type text/html.',
  },
  422: {
    description:
      'INVALID_PERMISSIONS or INVALID_SETTINGS: well-formed but not acceptable; `details` lists every problem (for Valve files with line and column). Nothing was changed.',
    code: 'INVALID_PERMISSIONS',
    message: 'The permissions file has 1 error; nothing was changed.',
  },
  429: {
    description:
      'RATE_LIMITED: too many requests from this address; the message says when to retry.',
    code: 'RATE_LIMITED',
    message: 'Too many requests from this address (at most 10 in a row). Try again in 1 minute.',
  },
  500: {
    description: 'INTERNAL: something failed on the server; it is logged with the request id.',
    code: 'INTERNAL',
    message: 'Something went wrong on our side.',
  },
  503: {
    description: 'NOT_READY: a dependency did not answer; `details` names it.',
    code: 'NOT_READY',
    message: 'Not ready: database did not answer.',
  },
};

const APP_ID = 'k3j2h1g9f8d7';
const WHEN = '2026-12-06T10:00:00.000Z';
const ACCOUNT = {
  id: '019ae3c2-7f1b-7c4e-9a52-3d6f0e1b2a47',
  email: 'ada@example.com',
  emailVerified: true,
  createdAt: WHEN,
};
const APP = {
  id: APP_ID,
  name: 'Chat',
  url: `wss://realtime.example.com/${APP_ID}`,
  activePermissionVersion: 1,
  activePermissionTemplate: 'signed-in',
  createdAt: WHEN,
  updatedAt: WHEN,
};
const KEY = {
  id: '019ae3c2-9d40-7a11-8c3e-5b2f4a6d7e80',
  name: 'Backend',
  prefix: 'hsk_a1b2c3d4',
  scopes: ['users', 'data'],
  userId: null,
  serverData: { role: 'backend' },
  dataUserId: 'api-key:Backend',
  createdAt: WHEN,
  lastUsedAt: null,
  revokedAt: null,
};
const APP_USER = {
  id: '019ae3c3-0a2b-7d5e-b1f4-6c7d8e9fa0b1',
  email: 'user@example.com',
  clientData: { name: 'Grace' },
  serverData: { role: 'editor' },
  createdAt: WHEN,
  updatedAt: WHEN,
};
const VERSION = {
  version: 1,
  format: 'yaml',
  author: 'ada@example.com',
  template: 'signed-in',
  createdAt: WHEN,
  active: true,
};

const AUTH_SETTINGS = {
  order: ['email', 'webhook', 'open'],
  open: { enabled: false },
  email: { enabled: true },
  webhook: {
    enabled: true,
    url: 'https://auth.example.com/hubstream',
    promoteToHeader: ['token'],
    headers: { 'x-tenant': 'acme' },
    timeoutMs: 5000,
    permittedStatusCodes: [200],
    retryStatusCodes: [502, 503, 504],
    retryAttempts: 2,
    retryIntervalMs: 500,
    signingSecret: 'whsec_3q2P7wLk9xTz4VbN',
  },
  unauthenticatedTimeoutMs: 180000,
  maxAuthAttempts: 3,
  updatedAt: WHEN,
};
const LIMITS = {
  maxConnections: 500,
  maxMessagesPerSecond: null,
  connectionMessagesPerSecond: null,
  maxCrossReferencesPerSecond: null,
  maxNamesPerMessage: null,
  maxSubscriptionsPerConnection: null,
  maxListensPerConnection: null,
  maxProvidesPerConnection: null,
  maxPendingRpcsPerConnection: null,
  effective: {
    maxConnections: 500,
    maxMessagesPerSecond: 1000,
    connectionMessagesPerSecond: 100,
    maxCrossReferencesPerSecond: 1000,
    maxNamesPerMessage: 100,
    maxSubscriptionsPerConnection: 10000,
    maxListensPerConnection: 100,
    maxProvidesPerConnection: 100,
    maxPendingRpcsPerConnection: 100,
  },
  defaults: {
    maxConnections: 10000,
    maxMessagesPerSecond: 1000,
    connectionMessagesPerSecond: 100,
    maxCrossReferencesPerSecond: 1000,
    maxNamesPerMessage: 100,
    maxSubscriptionsPerConnection: 10000,
    maxListensPerConnection: 100,
    maxProvidesPerConnection: 100,
    maxPendingRpcsPerConnection: 100,
  },
  maxima: { ...LIMIT_MAXIMA },
  updatedAt: WHEN,
};

type RouteDoc = {
  /** What the success reply means. */
  success: string;
  /** A worked example of it (checked against the schema; a generated one otherwise). */
  example?: unknown;
  /** For routes registered without a schema of their own (health). */
  schema?: Schema;
};

const HealthOk = (status: string) => ({
  type: 'object',
  properties: { status: { type: 'string', enum: [status] } },
  required: ['status'],
});

/** Keyed by "METHOD /url" as fastify registers the route. */
export const ROUTE_DOCS: Record<string, RouteDoc> = {
  'GET /health': {
    success: 'The process is up.',
    schema: {
      tags: ['health'],
      summary: 'Liveness: the process is up and serving',
      security: [],
      response: { 200: HealthOk('ok') },
    },
  },
  'GET /ready': {
    success: 'Every dependency answers: send traffic here.',
    schema: {
      tags: ['health'],
      summary: 'Readiness: the database answers',
      security: [],
      response: { 200: HealthOk('ready'), 503: ErrorReply },
    },
  },
  'POST /v1/signup': {
    success:
      'The new account. With `session: "token"` the reply carries a session token for `Authorization: Bearer`; otherwise the session is an httpOnly cookie.',
    example: { account: { ...ACCOUNT, emailVerified: false }, token: 'hss_4f9c…' },
  },
  'POST /v1/login': {
    success: 'Logged in: the account, and the session token when asked for one.',
    example: { account: ACCOUNT, token: 'hss_4f9c…' },
  },
  'POST /v1/logout': { success: 'The session has ended.' },
  'GET /v1/me': { success: 'The account of the session.', example: { account: ACCOUNT } },
  'POST /v1/email/verify': {
    success: 'The email address is verified.',
    example: { account: ACCOUNT },
  },
  'POST /v1/email/verify/resend': {
    success: 'A new link is on its way.',
    example: { message: 'We have mailed a new link to ada@example.com.' },
  },
  'POST /v1/password/forgot': {
    success:
      'Accepted. A link is mailed if the address has an account; the reply is the same either way.',
    example: { message: 'If ada@example.com has an account, a reset link is on its way.' },
  },
  'POST /v1/password/reset': {
    success: 'The password is changed and every other session ended.',
    example: { account: ACCOUNT },
  },
  'POST /v1/account/password': {
    success: 'The password is changed; every other session has ended.',
    example: { account: ACCOUNT, endedSessions: 2 },
  },
  'POST /v1/account/email': {
    success:
      'Accepted: a link is on its way to the new address, which replaces the current one once the link is opened.',
    example: {
      message:
        'We have sent a link to grace@example.com. Your account keeps ada@example.com until the link is opened.',
      pendingEmail: 'grace@example.com',
    },
  },
  'DELETE /v1/account/email/pending': { success: 'No change of address is pending now.' },
  'GET /v1/account/sessions': {
    success: "The account's sessions, the current one marked.",
    example: {
      sessions: [
        {
          id: '019ae3c2-8a10-7b2c-9d3e-4f5a6b7c8d9e',
          kind: 'cookie',
          createdAt: WHEN,
          lastUsedAt: WHEN,
          expiresAt: '2027-01-05T10:00:00.000Z',
          userAgent: 'Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0 Safari/537.36',
          address: '203.0.113.7',
          current: true,
        },
        {
          id: '019ae3c2-7f1b-7c4e-9a52-3d6f0e1b2a48',
          kind: 'bearer',
          createdAt: WHEN,
          lastUsedAt: null,
          expiresAt: '2027-01-05T10:00:00.000Z',
          userAgent: 'curl/8.5.0',
          address: '198.51.100.20',
          current: false,
        },
      ],
      total: 2,
    },
  },
  'DELETE /v1/account/sessions/:sessionId': {
    success: 'The session has ended; its cookie or token no longer works.',
  },
  'POST /v1/account/sessions/revoke-others': {
    success: 'Every other session has ended.',
    example: { revoked: 3 },
  },
  'POST /v1/account/delete': {
    success: 'The account, its apps and its sessions are deleted; this request logged out.',
  },
  'POST /v1/apps': {
    success:
      'The new app. With a `template`, its permissions version 1 is that template and active.',
    example: APP,
  },
  'GET /v1/apps': { success: 'Your apps, oldest first.', example: { apps: [APP] } },
  'GET /v1/apps/:id': { success: 'The app.', example: APP },
  'PATCH /v1/apps/:id': { success: 'The renamed app.', example: { ...APP, name: 'Team chat' } },
  'DELETE /v1/apps/:id': {
    success: 'Deleted; its clients are disconnected and its records purged.',
  },
  'POST /v1/apps/:id/keys': {
    success:
      'The new key with its scopes. `key` is shown this once: store it now. Without `scopes` a key gets `["users"]`; `userId` and `serverData` need the `data` scope.',
    example: { ...KEY, key: 'hsk_a1b2c3d4_Zm9vYmFyYmF6cXV4' },
  },
  'GET /v1/apps/:id/keys': {
    success: "The app's keys, without their secrets.",
    example: { keys: [KEY] },
  },
  'DELETE /v1/apps/:id/keys/:keyId': {
    success: 'The revoked key.',
    example: { ...KEY, revokedAt: WHEN },
  },
  'GET /v1/apps/:id/auth': { success: "The app's auth settings.", example: AUTH_SETTINGS },
  'PUT /v1/apps/:id/auth': {
    success: 'The settings as saved; new logins use them at once.',
    example: AUTH_SETTINGS,
  },
  'POST /v1/apps/:id/auth/webhook/test': {
    success: "The webhook's verdict on the sample authData, as a login would get it.",
    example: {
      verdict: 'allowed',
      id: 'user-42',
      clientData: { name: 'Grace' },
      serverData: { role: 'editor' },
      durationMs: 38,
      request: {
        method: 'POST',
        url: 'https://auth.example.com/hubstream',
        headers: { 'content-type': 'application/json', token: 'abc' },
        body: '{"connectionData":{},"authData":{"token":"abc"}}',
      },
    },
  },
  'GET /v1/apps/:id/limits': {
    success: "The app's own limits (null: the platform default) and the limits in effect.",
    example: LIMITS,
  },
  'PUT /v1/apps/:id/limits': { success: 'The limits as saved.', example: LIMITS },
  'POST /v1/apps/:id/users': {
    success: 'The new app user.',
    example: { id: APP_USER.id, email: APP_USER.email },
  },
  'GET /v1/apps/:id/users': {
    success: 'One page of app users, with the total.',
    example: { users: [APP_USER], total: 1, limit: 20, offset: 0 },
  },
  'GET /v1/apps/:id/users/:userId': { success: 'The app user.', example: APP_USER },
  'PATCH /v1/apps/:id/users/:userId': { success: 'The changed app user.', example: APP_USER },
  'DELETE /v1/apps/:id/users/:userId': {
    success: 'Deleted; the user can no longer log in.',
  },
  'PUT /v1/apps/:id/permissions': {
    success: 'Stored as the next version and active on every node within a second.',
    example: { version: 2 },
  },
  'GET /v1/apps/:id/permissions': {
    success: 'The active version with its file.',
    example: { ...VERSION, valve: TEMPLATES['signed-in'].valve },
  },
  'POST /v1/apps/:id/permissions/check': {
    success: 'The file is valid; nothing was stored.',
    example: { valid: true, patterns: 5, rules: 13 },
  },
  'GET /v1/apps/:id/permissions/versions': {
    success: 'Every stored version, newest first.',
    example: {
      versions: [
        { ...VERSION, version: 2, template: null, active: true },
        { ...VERSION, active: false },
      ],
    },
  },
  'GET /v1/apps/:id/permissions/versions/:version': {
    success: 'The version with its file.',
    example: { ...VERSION, valve: TEMPLATES['signed-in'].valve },
  },
  'POST /v1/apps/:id/permissions/versions/:version/activate': {
    success: 'That version is active now.',
    example: { version: 1 },
  },
  'GET /v1/apps/:id/audit': {
    success: 'One page of audit events; `next` pages on to older ones.',
    example: {
      events: [
        {
          id: '42',
          actor: 'ada@example.com',
          action: 'permissions.published',
          target: 'v2',
          details: { version: 2, patterns: 5, rules: 13 },
          createdAt: WHEN,
        },
      ],
      next: null,
    },
  },
  'GET /v1/apps/:id/usage': {
    success: 'One sample per minute with traffic, oldest first.',
    example: {
      from: '2026-12-06T09:00:00.000Z',
      to: WHEN,
      samples: [
        {
          minute: '2026-12-06T09:59:00.000Z',
          peakConnections: 3,
          messagesIn: 120,
          messagesOut: 340,
          denied: 2,
          rateLimited: 0,
        },
      ],
    },
  },
  'GET /v1/local-ca': { success: 'Whether there is a local CA to trust, and where it is.' },
  'GET /v1/local-ca/ca.pem': { success: 'The CA certificate.' },
  'GET /sdk/deepstream-client.min.js': { success: 'The bundle.' },
};

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

/** Where a route's failure of some status has its own code or message. */
const ERROR_VARIANTS: { status: number; url: RegExp; code: string; message: string }[] = [
  { status: 403, url: /\/apps\/:id\/users/, code: 'FORBIDDEN', message: LACKS_USERS_SCOPE },
  {
    status: 404,
    url: /\/users\/:userId/,
    code: 'NOT_FOUND',
    message: 'App user 019ae3c3-0a2b-7d5e-b1f4-6c7d8e9fa0b1 was not found.',
  },
  {
    status: 404,
    url: /\/keys\/:keyId/,
    code: 'NOT_FOUND',
    message: 'API key 019ae3c2-9d40-7a11-8c3e-5b2f4a6d7e80 was not found.',
  },
  {
    status: 404,
    url: /\/versions\/:version/,
    code: 'NOT_FOUND',
    message: 'Permissions version 3 was not found.',
  },
  {
    status: 404,
    url: /\/permissions$/,
    code: 'NOT_FOUND',
    message: 'This app has no permissions yet, so every action is denied. Upload a Valve file.',
  },
  {
    status: 404,
    url: /^\/v1\/local-ca/,
    code: 'NOT_FOUND',
    message:
      'This server does not use a self-signed local CA (TLS_SELF_SIGNED): there is nothing to trust.',
  },
  {
    status: 403,
    url: /^\/v1\/account\/(password|email|delete)$/,
    code: 'WRONG_PASSWORD',
    message: 'The current password is wrong. Nothing was changed.',
  },
  {
    status: 404,
    url: /^\/v1\/account\/sessions\/:sessionId$/,
    code: 'NOT_FOUND',
    message: 'Session 019ae3c2-8a10-7b2c-9d3e-4f5a6b7c8d9e was not found.',
  },
  {
    status: 409,
    url: /^\/v1\/(signup|account\/email|email\/verify$)/,
    code: 'EMAIL_TAKEN',
    message: 'An account with this email already exists.',
  },
  {
    status: 409,
    url: /^\/v1\/email\/verify/,
    code: 'EMAIL_ALREADY_VERIFIED',
    message: 'This email address is already verified.',
  },
  {
    status: 422,
    url: /\/(auth|limits)(\/|$)/,
    code: 'INVALID_SETTINGS',
    message: 'A webhook needs a URL.',
  },
  {
    status: 400,
    url: /^\/v1\/(email\/verify|password\/reset)$/,
    code: 'INVALID_TOKEN',
    message: 'This link is not valid or has expired: ask for a new one.',
  },
];

/** The error reply of one status, described and with an example. */
function errorReply(status: number, schema: Schema, url: string): Schema {
  const generic = ERROR_DOCS[status];
  if (!generic) return schema;
  const doc = ERROR_VARIANTS.find((v) => v.status === status && v.url.test(url)) ?? generic;
  // Without its $id, so that each status keeps its own description and example.
  const { $id: _id, ...rest } = schema;
  return {
    ...rest,
    description: generic.description,
    examples: [{ error: { code: doc.code, message: doc.message, details: [] } }],
  };
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

// The HTTP data API (issue 15) is served by the realtime nodes, not by this
// control plane: its paths are added to the document with a `servers`
// override naming the realtime URL. Its format is deepstream's
// (docs/client-http/v1): a well-formed request gets 200 with one result per
// command; a malformed one, or a refused login or key, gets a plain-text 4xx.

/** The realtime nodes' HTTP base URL: the public realtime URL with http(s) for ws(s). */
export const realtimeHttpUrl = (publicRealtimeUrl: string) =>
  publicRealtimeUrl.replace(/^wss:\/\//, 'https://').replace(/^ws:\/\//, 'http://');

const DATA_TAG = 'data API (realtime nodes)';

const command = (
  topic: string,
  action: string,
  fields: Record<string, Schema>,
  required: string[],
  description: string,
): Schema => ({
  type: 'object',
  title: `${topic} ${action}`,
  description,
  properties: {
    topic: { type: 'string', const: topic },
    action: { type: 'string', const: action },
    ...fields,
  },
  required: ['topic', 'action', ...required],
  additionalProperties: false,
});

const NAME = (what: string): Schema => ({ type: 'string', minLength: 1, description: what });
const ANY_JSON: Schema = { description: 'Any JSON value.' };

const COMMANDS: Schema[] = [
  command(
    'event',
    'emit',
    { eventName: NAME('The event, e.g. "news".'), data: ANY_JSON },
    ['eventName'],
    'Emit an event to its subscribers on every node. Success means the rules allowed it.',
  ),
  command(
    'record',
    'read',
    { recordName: NAME('The record, e.g. "cities/hamburg".') },
    ['recordName'],
    'Read a record: `version` and `data`; RECORD_NOT_FOUND when it does not exist.',
  ),
  command(
    'record',
    'head',
    { recordName: NAME('The record.') },
    ['recordName'],
    "Read a record's version only.",
  ),
  command(
    'record',
    'write',
    {
      recordName: NAME('The record; created when it does not exist.'),
      path: { type: 'string', description: 'Write only this path, e.g. "address.city".' },
      version: {
        type: 'integer',
        minimum: -1,
        description:
          'The version this write makes (current + 1): VERSION_EXISTS when another got there first. Left out or -1: write whatever the version.',
      },
      data: {
        description: 'The whole record (an object or array), or the value at `path`.',
      },
    },
    ['recordName', 'data'],
    'Write a whole record or one path; acknowledged once stored, like a client write with an acknowledgement.',
  ),
  command(
    'record',
    'delete',
    { recordName: NAME('The record.') },
    ['recordName'],
    'Delete a record (succeeds when it does not exist).',
  ),
  command(
    'record',
    'notify',
    {
      recordNames: {
        type: 'array',
        minItems: 1,
        items: { type: 'string', minLength: 1 },
        description: 'Records changed in storage behind our back: subscribers get them anew.',
      },
    },
    ['recordNames'],
    'Tell subscribers that records changed outside Hubstream.',
  ),
  command(
    'list',
    'read',
    { listName: NAME('The list.') },
    ['listName'],
    'Read a list (a record holding an array of record names): `version` and `data`.',
  ),
  command(
    'list',
    'write',
    {
      listName: NAME('The list.'),
      version: { type: 'integer', minimum: -1 },
      data: { type: 'array', items: { type: 'string' }, description: "The list's entries." },
    },
    ['listName', 'data'],
    'Write a list.',
  ),
  command('list', 'delete', { listName: NAME('The list.') }, ['listName'], 'Delete a list.'),
  command(
    'rpc',
    'make',
    { rpcName: NAME('The RPC, e.g. "add-two".'), data: ANY_JSON },
    ['rpcName'],
    'Make an RPC: a provider on any node answers; its answer is `data`. NO_RPC_PROVIDER, ACCEPT_TIMEOUT or RESPONSE_TIMEOUT otherwise.',
  ),
  command(
    'presence',
    'query',
    {
      names: {
        type: 'array',
        items: { type: 'string' },
        description: 'Only these users: `users` is then an object of id → online.',
      },
    },
    [],
    'Who is online over WebSocket (HTTP requests never are): `users`, the user ids.',
  ),
];

const COMMAND_RESULT: Schema = {
  type: 'object',
  properties: {
    success: { type: 'boolean' },
    error: { type: 'string', description: 'What went wrong (failures only).' },
    errorTopic: { type: 'string', description: 'e.g. "record".' },
    errorEvent: {
      type: 'string',
      description:
        'e.g. MESSAGE_DENIED (the rules refused it), RECORD_NOT_FOUND, VERSION_EXISTS, NO_RPC_PROVIDER, RESPONSE_TIMEOUT, HTTP_REQUEST_TIMEOUT.',
    },
    errorAction: { type: 'string', description: 'The refused action, for MESSAGE_DENIED.' },
    data: { description: 'record/list read: the data; rpc make: the answer.' },
    version: { type: 'integer', description: 'record/list read and head: the version.' },
    users: {
      description: 'presence query: the user ids online (an object of id → online with `names`).',
    },
    currentVersion: { type: 'integer', description: 'VERSION_EXISTS: the stored version.' },
    currentData: { description: 'VERSION_EXISTS: the stored data.' },
  },
  required: ['success'],
};

const DATA_REQUEST_EXAMPLE = {
  body: [
    { topic: 'event', action: 'emit', eventName: 'news', data: { text: 'Hello' } },
    { topic: 'record', action: 'read', recordName: 'settings/main' },
    { topic: 'record', action: 'write', recordName: 'scores/ada', path: 'points', data: 42 },
  ],
};

const DATA_RESPONSE_EXAMPLE = {
  result: 'PARTIAL_SUCCESS',
  body: [
    { success: true },
    {
      success: false,
      error: 'Record read failed. Record "settings/main" could not be found.',
      errorTopic: 'record',
      errorEvent: 'RECORD_NOT_FOUND',
    },
    { success: true },
  ],
};

const text = (description: string, example: string): Schema => ({
  description,
  content: { 'text/plain': { schema: { type: 'string' }, example } },
});

const DATA_ERRORS: Record<string, Schema> = {
  '400': text(
    "The request is malformed: not JSON, larger than the app's message size limit, `body` missing, empty or longer than HTTP_API_MAX_COMMANDS, or a command with an unknown topic or action or a missing field (the text names its index). No command ran.",
    "Failed to parse JIF object at index 0. Reason: property 'eventName' is required for topic 'event' action 'emit'",
  ),
  '401': text(
    "The login was refused (authData, or a token the app's webhook judges), the token is unknown or expired, or the API key is malformed, unknown or revoked.",
    'Unsuccessful authentication attempt.',
  ),
  '403': text(
    'The API key lacks the "data" scope.',
    "This API key may not use the HTTP data API: it lacks the 'data' scope (it can only manage the app's users). Create a key with the 'data' scope on the app's API keys page.",
  ),
  '404': text('No app has this id.', 'No app has the id k3j2h1g9f8d7.'),
  '415': text(
    'The body is not sent as application/json.',
    'Invalid "Content-Type" header. Supported media types: "application/json"',
  ),
  '429': text(
    "HTTP_API_MAX_REQUESTS_PER_ADDRESS requests from the client's address are already in progress on this node; nothing of this one ran.",
    'Too many HTTP API requests in progress from this address (at most 32, HTTP_API_MAX_REQUESTS_PER_ADDRESS): wait for the earlier ones to be answered.',
  ),
};

const APP_ID_PARAM = {
  name: 'appId',
  in: 'path',
  required: true,
  schema: { type: 'string', pattern: '^[a-z0-9]{1,64}$' },
  description: 'The app id, as in its realtime URL.',
  example: APP_ID,
};

/** The data API's paths, served by `realtimeUrl` (http or https). */
export function dataApiPaths(realtimeUrl: string): Record<string, Schema> {
  const servers = [
    {
      url: realtimeUrl,
      description:
        'The realtime nodes (the WebSocket endpoint, same host and port): not this control plane.',
    },
  ];
  return {
    '/{appId}/api': {
      post: {
        servers,
        tags: [DATA_TAG],
        summary: 'Run a batch of data commands (events, records, lists, RPCs, presence)',
        description:
          'deepstream\'s HTTP API. The commands run in order, each with its own result; one failing does not stop the others. Valve rules apply to each exactly as to the same action over WebSocket, and each counts as a message against the app\'s limits. Authenticate with `Authorization: Bearer <app API key>` (a key with the "data" scope: it acts as its `userId`, or "api-key:" and its name, with its `serverData` as `user.data`), or `token` from `POST /{appId}/api/auth`, or `authData` in the body; with open auth, with nothing. Send one of them only.',
        parameters: [APP_ID_PARAM],
        security: [{ bearer: [] }, {}],
        requestBody: {
          required: true,
          content: {
            'application/json': {
              schema: {
                type: 'object',
                properties: {
                  token: { type: 'string', description: 'From POST /{appId}/api/auth.' },
                  authData: {
                    type: 'object',
                    description: 'Log in with this request, as `client.login(authData)` does.',
                  },
                  body: { type: 'array', minItems: 1, items: { oneOf: COMMANDS } },
                },
                required: ['body'],
              },
              example: DATA_REQUEST_EXAMPLE,
            },
          },
        },
        responses: {
          '200': {
            description:
              'Every command ran: `result` is SUCCESS when all succeeded, FAILURE when none did, PARTIAL_SUCCESS otherwise; `body` has one result per command, in order. Check `result`: a 200 does not mean that the commands succeeded.',
            content: {
              'application/json': {
                schema: {
                  type: 'object',
                  properties: {
                    result: { type: 'string', enum: ['SUCCESS', 'PARTIAL_SUCCESS', 'FAILURE'] },
                    body: { type: 'array', items: COMMAND_RESULT },
                  },
                  required: ['result', 'body'],
                },
                example: DATA_RESPONSE_EXAMPLE,
              },
            },
          },
          ...DATA_ERRORS,
        },
      },
    },
    '/{appId}/api/auth': {
      post: {
        servers,
        tags: [DATA_TAG],
        summary: 'Log in for the data API: a token for later requests',
        description:
          "The body is the authData, as `client.login(authData)` sends it, through the app's auth strategies. The token stays valid for HTTP_API_TOKEN_TTL_MS on every node.",
        parameters: [APP_ID_PARAM],
        security: [],
        requestBody: {
          required: true,
          content: {
            'application/json': {
              schema: { type: 'object', description: 'The authData.' },
              example: { type: 'email', email: 'user@example.com', password: 'their password' },
            },
          },
        },
        responses: {
          '200': {
            description: 'Logged in: send `token` in later requests.',
            content: {
              'application/json': {
                schema: {
                  type: 'object',
                  properties: {
                    token: { type: 'string' },
                    clientData: { description: 'What the login gives the client.' },
                  },
                  required: ['token'],
                },
                example: {
                  token: 'hst_7Yc2…',
                  clientData: { id: APP_USER.id },
                },
              },
            },
          },
          '400': DATA_ERRORS['400']!,
          '401': DATA_ERRORS['401']!,
          '404': DATA_ERRORS['404']!,
          '415': DATA_ERRORS['415']!,
          '429': DATA_ERRORS['429']!,
        },
      },
    },
  };
}

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
