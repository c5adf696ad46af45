import type { PrismaClient } from '@hubstream/db';
import { SESSION_TOKEN_PREFIX, SESSION_TTL_MS } from '../../context.ts';
import { ApiError } from '../../errors.ts';
import {
  burnPasswordCheck,
  emailKey,
  hashPassword,
  randomToken,
  sha256,
  verifyPassword,
} from '../../lib/secrets.ts';
import { createPersonalOrganisation } from '../orgs/service.ts';

export type AccountRow = { id: string; email: string; emailVerified: boolean; createdAt: Date };

export const accountView = (a: AccountRow) => ({
  id: a.id,
  email: a.email,
  emailVerified: a.emailVerified,
  createdAt: a.createdAt.toISOString(),
});

export async function createAccount(prisma: PrismaClient, email: string, password: string) {
  const key = emailKey(email);
  const passwordHash = await hashPassword(password);
  try {
    // Every account owns an organisation of its own, where its apps go.
    return await prisma.$transaction(async (tx) => {
      const account = await tx.account.create({ data: { email: key, passwordHash } });
      await createPersonalOrganisation(tx, account);
      return account;
    });
  } catch (error) {
    if ((error as { code?: string }).code === 'P2002') {
      throw new ApiError(
        'EMAIL_TAKEN',
        'An account with this email already exists. Log in instead.',
      );
    }
    throw error;
  }
}

/** Unknown email and wrong password are indistinguishable, in answer and in time. */
export async function checkCredentials(prisma: PrismaClient, email: string, password: string) {
  const account = await prisma.account.findUnique({ where: { email: emailKey(email) } });
  if (!account) {
    await burnPasswordCheck(password);
  } else if (await verifyPassword(account.passwordHash, password)) {
    return account;
  }
  throw new ApiError('INVALID_CREDENTIALS', 'The email or the password is wrong.');
}

/** What the session list shows of where a session was opened. */
export type SessionOrigin = { userAgent: string | undefined; address: string };

/** Longest User-Agent kept: enough for any real browser's, and bounded. */
export const USER_AGENT_MAX = 512;

export async function openSession(
  prisma: PrismaClient,
  accountId: string,
  kind: 'cookie' | 'bearer',
  origin?: SessionOrigin,
) {
  const token = randomToken(SESSION_TOKEN_PREFIX);
  await prisma.session.create({
    data: {
      accountId,
      kind,
      userAgent: origin?.userAgent?.slice(0, USER_AGENT_MAX) || null,
      address: origin?.address || null,
      tokenHash: sha256(token),
      expiresAt: new Date(Date.now() + SESSION_TTL_MS),
    },
  });
  return token;
}

export async function closeSession(prisma: PrismaClient, sessionId: string) {
  await prisma.session.deleteMany({ where: { id: sessionId } });
}
