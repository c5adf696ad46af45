import { AUTH_PROBLEMS, LACKS_USERS_SCOPE } from '../plugins/auth.ts';

// What the API reference says about the control plane's error replies
// (api-docs.ts applies it): each status's codes with an example, and the
// routes whose failure of some status has its own code or message.

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
export function errorReply(status: number, schema: Schema, url: string): Schema {
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
