import { TEMPLATES } from '@hubstream/valve';
import {
  ACCOUNT,
  APP,
  APP_USER,
  AUTH_SETTINGS,
  KEY,
  LIMITS,
  VERSION,
  WHEN,
} from './api-docs-examples.ts';
import { ErrorReply } from './schemas.ts';

// What the API reference says about each control-plane route's success
// (api-docs.ts applies it): what the reply means and a worked example.

type Schema = Record<string, unknown>;

export type RouteDoc = {
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
  'GET /v1/roles': { success: 'Each role, and the app and organisation actions it may take.' },
  'GET /v1/orgs': { success: 'The organisations you are a member of, with your role in each.' },
  'POST /v1/orgs': { success: 'The new organisation; you are its owner.' },
  'PATCH /v1/orgs/:orgId': { success: 'The renamed organisation.' },
  'GET /v1/orgs/:orgId/members': { success: 'The members of the organisation and their roles.' },
  'PATCH /v1/orgs/:orgId/members/:accountId': { success: 'The member with the new role.' },
  'DELETE /v1/orgs/:orgId/members/:accountId': {
    success: 'The member is removed; they no longer see its apps.',
  },
  'POST /v1/orgs/:orgId/leave': { success: 'You have left the organisation.' },
  'POST /v1/orgs/:orgId/transfer': {
    success: 'The members: the one named is the owner now, and you an admin.',
  },
  'GET /v1/orgs/:orgId/invitations': { success: 'The pending invitations of the organisation.' },
  'POST /v1/orgs/:orgId/invitations': {
    success: 'The invitation; its link is mailed to the address invited.',
  },
  'DELETE /v1/orgs/:orgId/invitations/:invitationId': {
    success: 'The invitation is withdrawn; its link no longer works.',
  },
  'POST /v1/invitations/preview': {
    success: 'What the invitation link is for: the organisation, the role and the address.',
  },
  'POST /v1/invitations/accept': {
    success: 'You are a member of the organisation now, with the role of the invitation.',
  },
  'GET /v1/local-ca': { success: 'Whether there is a local CA to trust, and where it is.' },
  'GET /v1/local-ca/ca.pem': { success: 'The CA certificate.' },
  'GET /sdk/deepstream-client.min.js': { success: 'The bundle.' },
};
