import type { PrismaClient } from '@hubstream/db';
import type { FastifyRequest } from 'fastify';
import { API_KEY_PREFIX, SESSION_COOKIE, SESSION_TOKEN_PREFIX } from '../context.ts';
import { ApiError } from '../errors.ts';
import { sha256 } from '../lib/secrets.ts';
import { apiKeyByHash, sessionByHash, touchApiKey, touchSession } from './access-service.ts';

// Who is calling: a developer (dashboard cookie or bearer session token) or
// an app's API key (bearer, for scripts and backends). Resolved once per
// request and cached on it.

export type Developer = { kind: 'developer'; accountId: string; email: string; sessionId: string };
export type AppKey = {
  kind: 'apiKey';
  appId: string;
  keyId: string;
  prefix: string;
  /** 'users' and/or 'data' (routes/keys/routes.ts); a null column reads as none. */
  scopes: readonly string[];
};
export type Principal = Developer | AppKey;

const TOUCH_EVERY_MS = 3600_000;

// What was wrong with the credentials, said to the caller (it names the
// fix). A message depends only on what the caller sent: whether a full key
// or token is known is told only to whoever holds that secret, so nothing
// here tells which keys exist.
const HOW =
  'send the session cookie (log in on the dashboard), or an "Authorization: Bearer" header with a session token (hss_...) or an app API key (hsk_...)';
export const AUTH_PROBLEMS = {
  missing: `Log in first: ${HOW}.`,
  badHeader: `The Authorization header is not "Bearer" followed by one token: ${HOW}.`,
  unknownKind:
    'This token is neither a session token (hss_...) nor an app API key (hsk_...): check what you copied.',
  malformedKey:
    'This API key is malformed: app API keys are "hsk_", 8 letters or digits, "_" and 43 more characters. Copy it again (it is shown once, when created) or create a new one on the app\'s API keys page.',
  unknownKey:
    "This API key is not valid: no app has it. Check that you copied all of it, or create a new one on the app's API keys page.",
  revokedKey:
    "This API key was revoked. Create a new one on the app's API keys page and use that instead.",
  malformedSession:
    'This session token is malformed: session tokens are "hss_" and 43 more characters, as POST /v1/login returns them.',
  expiredSession: 'This session has expired or was logged out: log in again (POST /v1/login).',
} as const;
type AuthProblem = keyof typeof AUTH_PROBLEMS;

const API_KEY_FORMAT = /^hsk_[a-z0-9]{8}_[A-Za-z0-9_-]{43}$/;
const SESSION_TOKEN_FORMAT = /^hss_[A-Za-z0-9_-]{43}$/;

type Resolution =
  | { principal: Principal; problem?: never }
  | { principal: null; problem: AuthProblem };
const resolved = new WeakMap<FastifyRequest, Promise<Resolution>>();

const problem = (name: AuthProblem): Resolution => ({ principal: null, problem: name });

async function resolve(prisma: PrismaClient, request: FastifyRequest): Promise<Resolution> {
  const header = request.headers.authorization;
  let token: string | undefined;
  if (header) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match) return problem('badHeader');
    token = match[1];
  } else {
    token = request.cookies[SESSION_COOKIE];
  }
  if (!token) return problem('missing');
  if (token.startsWith(API_KEY_PREFIX)) {
    if (!API_KEY_FORMAT.test(token)) return problem('malformedKey');
    const key = await apiKeyByHash(prisma, sha256(token));
    if (!key) return problem('unknownKey');
    if (key.revokedAt) return problem('revokedKey');
    if (!key.lastUsedAt || Date.now() - key.lastUsedAt.getTime() > TOUCH_EVERY_MS) {
      await touchApiKey(prisma, key.id, new Date());
    }
    return {
      principal: {
        kind: 'apiKey',
        appId: key.appId,
        keyId: key.id,
        prefix: key.prefix,
        scopes: key.scopes ?? [],
      },
    };
  }
  if (!token.startsWith(SESSION_TOKEN_PREFIX)) return problem('unknownKind');
  if (!SESSION_TOKEN_FORMAT.test(token)) return problem('malformedSession');
  const session = await sessionByHash(prisma, sha256(token));
  if (!session || session.expiresAt.getTime() <= Date.now()) return problem('expiredSession');
  if (!session.lastUsedAt || Date.now() - session.lastUsedAt.getTime() > TOUCH_EVERY_MS) {
    await touchSession(prisma, session.id, new Date());
  }
  return {
    principal: {
      kind: 'developer',
      accountId: session.accountId,
      email: session.account.email,
      sessionId: session.id,
    },
  };
}

function resolutionOf(prisma: PrismaClient, request: FastifyRequest) {
  let found = resolved.get(request);
  if (!found) {
    found = resolve(prisma, request);
    resolved.set(request, found);
  }
  return found;
}

/** The caller, or null when its credentials are missing or not valid. */
export async function principalOf(
  prisma: PrismaClient,
  request: FastifyRequest,
): Promise<Principal | null> {
  return (await resolutionOf(prisma, request)).principal;
}

/** The caller; otherwise a 401 that says what was wrong with its credentials. */
export async function requirePrincipal(
  prisma: PrismaClient,
  request: FastifyRequest,
): Promise<Principal> {
  const { principal, problem } = await resolutionOf(prisma, request);
  if (principal) return principal;
  throw new ApiError('UNAUTHENTICATED', AUTH_PROBLEMS[problem]);
}

/** Said to a key without the users scope on the app user routes. */
export const LACKS_USERS_SCOPE =
  'This API key lacks the "users" scope: it was created for the HTTP data API only. Manage app users with a key that has the "users" scope (create one on the app\'s API keys page), or with your session token.';

export async function requireDeveloper(
  prisma: PrismaClient,
  request: FastifyRequest,
): Promise<Developer> {
  const principal = await requirePrincipal(prisma, request);
  if (principal.kind !== 'developer') {
    throw new ApiError('FORBIDDEN', 'App API keys can only manage the app users of their own app.');
  }
  return principal;
}

/** How the audit trail names the caller. */
export const actorOf = (principal: Principal) =>
  principal.kind === 'developer' ? principal.email : `api key ${principal.prefix}`;
