import type { AccountToken, Prisma, PrismaClient } from '@hubstream/db';
import { ApiError } from '../../errors.ts';
import { randomToken, sha256 } from '../../lib/secrets.ts';

// One-time tokens mailed to a developer. Only their SHA-256 is stored, so a
// database leak yields no usable links.

export type AccountTokenPurpose = AccountToken['purpose'];

export const ACCOUNT_TOKENS = {
  verify_email: { prefix: 'hsv_', ttlMs: 24 * 3600_000, label: 'email verification link' },
  reset_password: { prefix: 'hsr_', ttlMs: 3600_000, label: 'password reset link' },
  change_email: { prefix: 'hse_', ttlMs: 24 * 3600_000, label: 'email change link' },
} as const satisfies Record<AccountTokenPurpose, { prefix: string; ttlMs: number; label: string }>;

/** Creates a token and returns it in clear, for the mail; it is never shown again. */
export async function issueAccountToken(
  prisma: PrismaClient,
  accountId: string,
  purpose: AccountTokenPurpose,
  now = new Date(),
  /** change_email: the address the account moves to when the link is opened. */
  email: string | null = null,
): Promise<string> {
  const { prefix, ttlMs } = ACCOUNT_TOKENS[purpose];
  const token = randomToken(prefix);
  await prisma.accountToken.create({
    data: {
      accountId,
      purpose,
      email,
      tokenHash: sha256(token),
      createdAt: now,
      expiresAt: new Date(now.getTime() + ttlMs),
    },
  });
  return token;
}

const invalid = (purpose: AccountTokenPurpose, why: string) =>
  new ApiError('INVALID_TOKEN', `This ${ACCOUNT_TOKENS[purpose].label} ${why}`);

/**
 * The token's row while it may still be used; otherwise INVALID_TOKEN with
 * the reason. Checked before any slow work, so bad links cost little.
 * `also`: other purposes the same page accepts (the verify-email page opens
 * both sign-up's links and links to confirm a new address).
 */
export async function findUsableToken(
  prisma: PrismaClient,
  token: string,
  purpose: AccountTokenPurpose,
  now: Date,
  also: readonly AccountTokenPurpose[] = [],
): Promise<AccountToken> {
  const row = await prisma.accountToken.findUnique({ where: { tokenHash: sha256(token) } });
  if (!row || (row.purpose !== purpose && !also.includes(row.purpose))) {
    throw invalid(
      purpose,
      'is not valid. Check that you used the whole link, or ask for a new one.',
    );
  }
  if (row.usedAt)
    throw invalid(row.purpose, 'has already been used. Ask for a new one if you need it.');
  if (row.expiresAt.getTime() <= now.getTime()) {
    throw invalid(row.purpose, 'has expired. Ask for a new one.');
  }
  return row;
}

/**
 * Marks the token used, inside the transaction that acts on it. The
 * conditional update lets exactly one of two concurrent requests win.
 */
export async function spendToken(tx: Prisma.TransactionClient, row: AccountToken, now: Date) {
  const { count } = await tx.accountToken.updateMany({
    where: { id: row.id, usedAt: null, expiresAt: { gt: now } },
    data: { usedAt: now },
  });
  if (count !== 1) throw invalid(row.purpose, 'has already been used or has expired.');
  // The account's other links for the same purpose die with this one.
  await tx.accountToken.updateMany({
    where: { accountId: row.accountId, purpose: row.purpose, usedAt: null },
    data: { usedAt: now },
  });
}
