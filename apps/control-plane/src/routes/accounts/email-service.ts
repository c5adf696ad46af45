import type { AccountToken, Prisma, PrismaClient } from '@hubstream/db';
import { ApiError } from '../../errors.ts';
import { hashPassword } from '../../lib/secrets.ts';
import { findUsableToken, spendToken } from './token-service.ts';

// What the mailed links do when they are opened (verification.ts,
// password-reset.ts).

export const accountByEmail = (prisma: PrismaClient, email: string) =>
  prisma.account.findUnique({ where: { email } });

/** Opening a change_email link: the address it was mailed to becomes the account's. */
async function changeEmail(tx: Prisma.TransactionClient, token: AccountToken, now: Date) {
  const to = token.email;
  if (!to) throw new Error(`change_email token ${token.id} has no address`);
  const before = await tx.account.findUniqueOrThrow({ where: { id: token.accountId } });
  let account: Awaited<ReturnType<typeof tx.account.update>>;
  try {
    account = await tx.account.update({
      where: { id: token.accountId },
      data: { email: to, emailVerified: true },
    });
  } catch (error) {
    if ((error as { code?: string }).code === 'P2002') {
      throw new ApiError(
        'EMAIL_TAKEN',
        `Another account has started using ${to} since the change was asked for. Your account keeps ${before.email}.`,
      );
    }
    throw error;
  }
  // Links mailed to the old address to verify it mean nothing now.
  await tx.accountToken.updateMany({
    where: { accountId: token.accountId, purpose: 'verify_email', usedAt: null },
    data: { usedAt: now },
  });
  await tx.auditEvent.create({
    data: {
      appId: null,
      accountId: token.accountId,
      actor: before.email,
      action: 'account.email_changed',
      target: token.accountId,
      details: { from: before.email, to },
    },
  });
  return account;
}

/** Opens a verify_email or change_email link (once): the account's address is verified or changed. */
export async function verifyEmail(prisma: PrismaClient, rawToken: string) {
  const now = new Date();
  const token = await findUsableToken(prisma, rawToken, 'verify_email', now, ['change_email']);
  return prisma.$transaction(async (tx) => {
    await spendToken(tx, token, now);
    if (token.purpose === 'change_email') return changeEmail(tx, token, now);
    return tx.account.update({ where: { id: token.accountId }, data: { emailVerified: true } });
  });
}

/** Opens a reset_password link (once): the new password, every session ended. */
export async function resetPassword(prisma: PrismaClient, rawToken: string, password: string) {
  const now = new Date();
  const token = await findUsableToken(prisma, rawToken, 'reset_password', now);
  const passwordHash = await hashPassword(password);
  return prisma.$transaction(async (tx) => {
    await spendToken(tx, token, now);
    // Whoever knew the old password may hold a session.
    await tx.session.deleteMany({ where: { accountId: token.accountId } });
    return tx.account.update({
      where: { id: token.accountId },
      // Opening the mailed link proves the address is theirs.
      data: { passwordHash, emailVerified: true },
    });
  });
}
