import type { PrismaClient } from '@hubstream/db';

// What the plugins read to tell who is calling (auth.ts) and what it may do
// to an app (app-scope.ts, app-access.ts): the plugins decide, these
// queries only fetch. Tokens and keys are looked up by their SHA-256.

/** The API key stored under this hash, or null. */
export const apiKeyByHash = (prisma: PrismaClient, keyHash: string) =>
  prisma.apiKey.findUnique({ where: { keyHash } });

/** Notes that the key was used at `now`. */
export async function touchApiKey(prisma: PrismaClient, keyId: string, now: Date) {
  await prisma.apiKey.update({ where: { id: keyId }, data: { lastUsedAt: now } });
}

/** The session stored under this hash with its account's address, or null. */
export const sessionByHash = (prisma: PrismaClient, tokenHash: string) =>
  prisma.session.findUnique({
    where: { tokenHash },
    include: { account: { select: { email: true } } },
  });

/** Notes that the session was used at `now`. */
export async function touchSession(prisma: PrismaClient, sessionId: string, now: Date) {
  await prisma.session.update({ where: { id: sessionId }, data: { lastUsedAt: now } });
}

/** The app, or null. */
export const appById = (prisma: PrismaClient, appId: string) =>
  prisma.app.findUnique({ where: { id: appId } });

/** The account's membership of the organisation with the organisation's name, or null. */
export const membershipWithOrgName = (
  prisma: PrismaClient,
  organisationId: string,
  accountId: string,
) =>
  prisma.membership.findUnique({
    where: { organisationId_accountId: { organisationId, accountId } },
    include: { organisation: { select: { name: true } } },
  });
