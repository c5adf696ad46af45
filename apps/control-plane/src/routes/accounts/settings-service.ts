import type { PrismaClient } from '@hubstream/db';
import { ApiError } from '../../errors.ts';
import { audit } from '../../lib/audit.ts';
import { verifyPassword } from '../../lib/secrets.ts';
import type { Developer } from '../../plugins/auth.ts';

// What the account settings routes (settings.ts) read and write.

export const WRONG_PASSWORD_MESSAGE = 'The current password is wrong. Nothing was changed.';

export const accountById = (prisma: PrismaClient, accountId: string) =>
  prisma.account.findUniqueOrThrow({ where: { id: accountId } });

/** The account, when `password` is its password; otherwise WRONG_PASSWORD. */
export async function confirmPassword(prisma: PrismaClient, accountId: string, password: string) {
  const account = await accountById(prisma, accountId);
  if (!(await verifyPassword(account.passwordHash, password))) {
    throw new ApiError('WRONG_PASSWORD', WRONG_PASSWORD_MESSAGE);
  }
  return account;
}

/** The address the account is moving to: the newest change link not yet opened, used or expired. */
export async function pendingEmailOf(prisma: PrismaClient, accountId: string, now = new Date()) {
  const row = await prisma.accountToken.findFirst({
    where: { accountId, purpose: 'change_email', usedAt: null, expiresAt: { gt: now } },
    orderBy: { createdAt: 'desc' },
    select: { email: true },
  });
  return row?.email ?? undefined;
}

/**
 * Sets the new password hash; every other session of the account ends and
 * reset links mailed before stop working. Audited.
 */
export function changePassword(prisma: PrismaClient, developer: Developer, passwordHash: string) {
  const { accountId, sessionId } = developer;
  const now = new Date();
  return prisma.$transaction(async (tx) => {
    // Whoever learnt the old password may hold a session; the caller keeps its own.
    const ended = await tx.session.deleteMany({ where: { accountId, id: { not: sessionId } } });
    // A reset link mailed before would undo the change.
    await tx.accountToken.updateMany({
      where: { accountId, purpose: 'reset_password', usedAt: null },
      data: { usedAt: now },
    });
    const account = await tx.account.update({ where: { id: accountId }, data: { passwordHash } });
    await audit(tx, {
      appId: null,
      principal: developer,
      action: 'account.password_changed',
      target: accountId,
      details: { endedSessions: ended.count },
    });
    return { account, endedSessions: ended.count };
  });
}

/** Whether an account has this (normalised) address. */
export async function emailTaken(prisma: PrismaClient, email: string) {
  return (await prisma.account.findUnique({ where: { email }, select: { id: true } })) !== null;
}

/** Kills the change-of-address links not yet used. */
export async function cancelEmailChanges(prisma: PrismaClient, accountId: string, now: Date) {
  await prisma.accountToken.updateMany({
    where: { accountId, purpose: 'change_email', usedAt: null },
    data: { usedAt: now },
  });
}

export const auditEmailChangeRequested = (
  prisma: PrismaClient,
  developer: Developer,
  email: string,
) =>
  audit(prisma, {
    appId: null,
    principal: developer,
    action: 'account.email_change_requested',
    target: developer.accountId,
    details: { to: email },
  });

/**
 * The account's live sessions, newest first (at most `max`, plus the
 * caller's own when it is older), and how many there are.
 */
export async function listSessions(prisma: PrismaClient, developer: Developer, max: number) {
  const where = { accountId: developer.accountId, expiresAt: { gt: new Date() } };
  const [rows, total] = await Promise.all([
    prisma.session.findMany({ where, orderBy: { createdAt: 'desc' }, take: max }),
    prisma.session.count({ where }),
  ]);
  // The caller's own session is always listed, even past the newest ones.
  if (!rows.some((row) => row.id === developer.sessionId)) {
    const own = await prisma.session.findUnique({ where: { id: developer.sessionId } });
    if (own) rows.unshift(own);
  }
  return { rows, total };
}

/** Ends the account's session `only`, or all but `except`; resolves to how many ended. */
export async function endSessions(
  prisma: PrismaClient,
  accountId: string,
  which: { only: string } | { except: string },
) {
  const { count } = await prisma.session.deleteMany({
    where:
      'only' in which ? { id: which.only, accountId } : { accountId, id: { not: which.except } },
  });
  return count;
}
