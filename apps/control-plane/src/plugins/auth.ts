import type { PrismaClient } from '@hubstream/db';
import type { FastifyRequest } from 'fastify';
import { API_KEY_PREFIX, SESSION_COOKIE, SESSION_TOKEN_PREFIX } from '../context.ts';
import { ApiError } from '../errors.ts';
import { sha256 } from '../lib/secrets.ts';

// Who is calling: a developer (dashboard cookie or bearer session token) or
// an app's API key (bearer, for scripts and backends). Resolved once per
// request and cached on it.

export type Developer = { kind: 'developer'; accountId: string; email: string; sessionId: string };
export type AppKey = { kind: 'apiKey'; appId: string; keyId: string; prefix: string };
export type Principal = Developer | AppKey;

const TOUCH_EVERY_MS = 3600_000;
const resolved = new WeakMap<FastifyRequest, Promise<Principal | null>>();

function bearerOf(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (!header) return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!match)
    throw new ApiError('UNAUTHENTICATED', 'The Authorization header must be "Bearer <token>".');
  return match[1];
}

async function resolve(prisma: PrismaClient, request: FastifyRequest): Promise<Principal | null> {
  const token = bearerOf(request) ?? request.cookies[SESSION_COOKIE];
  if (!token) return null;
  if (token.startsWith(API_KEY_PREFIX)) {
    const key = await prisma.apiKey.findUnique({ where: { keyHash: sha256(token) } });
    if (!key || key.revokedAt) return null;
    if (!key.lastUsedAt || Date.now() - key.lastUsedAt.getTime() > TOUCH_EVERY_MS) {
      await prisma.apiKey.update({ where: { id: key.id }, data: { lastUsedAt: new Date() } });
    }
    return { kind: 'apiKey', appId: key.appId, keyId: key.id, prefix: key.prefix };
  }
  if (!token.startsWith(SESSION_TOKEN_PREFIX)) return null;
  const session = await prisma.session.findUnique({
    where: { tokenHash: sha256(token) },
    include: { account: { select: { email: true } } },
  });
  if (!session || session.expiresAt.getTime() <= Date.now()) return null;
  if (!session.lastUsedAt || Date.now() - session.lastUsedAt.getTime() > TOUCH_EVERY_MS) {
    await prisma.session.update({ where: { id: session.id }, data: { lastUsedAt: new Date() } });
  }
  return {
    kind: 'developer',
    accountId: session.accountId,
    email: session.account.email,
    sessionId: session.id,
  };
}

export function principalOf(prisma: PrismaClient, request: FastifyRequest) {
  let found = resolved.get(request);
  if (!found) {
    found = resolve(prisma, request);
    resolved.set(request, found);
  }
  return found;
}

const unauthenticated = () =>
  new ApiError(
    'UNAUTHENTICATED',
    'Log in first: send a session cookie or "Authorization: Bearer <token>".',
  );

export async function requireDeveloper(
  prisma: PrismaClient,
  request: FastifyRequest,
): Promise<Developer> {
  const principal = await principalOf(prisma, request);
  if (!principal) throw unauthenticated();
  if (principal.kind !== 'developer') {
    throw new ApiError('FORBIDDEN', 'App API keys can only manage the app users of their own app.');
  }
  return principal;
}

/**
 * The app, when the caller may act on it. Another account's app and an API
 * key of another app both get 404, so ids cannot be probed.
 */
export async function requireApp(
  prisma: PrismaClient,
  request: FastifyRequest,
  appId: string,
  options: { allowApiKey: boolean } = { allowApiKey: false },
) {
  const principal = await principalOf(prisma, request);
  if (!principal) throw unauthenticated();
  const app = await prisma.app.findUnique({ where: { id: appId } });
  const mine =
    app !== null &&
    (principal.kind === 'developer'
      ? app.accountId === principal.accountId
      : app.id === principal.appId);
  if (!app || !mine) throw new ApiError('NOT_FOUND', `App ${appId} was not found.`);
  if (principal.kind === 'apiKey' && !options.allowApiKey) {
    throw new ApiError('FORBIDDEN', 'App API keys can only manage the app users of their own app.');
  }
  return { app, principal };
}

/** How the audit trail names the caller. */
export const actorOf = (principal: Principal) =>
  principal.kind === 'developer' ? principal.email : `api key ${principal.prefix}`;
