import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { AccountToken, Prisma } from '@hubstream/db';
import type { ControlPlaneContext } from '../../context.ts';
import { ApiError } from '../../errors.ts';
import { errors } from '../../lib/schemas.ts';
import { requireDeveloper } from '../../plugins/auth.ts';
import { SEND_EMAIL_JOB, verificationEmail } from './account-mail.ts';
import { findUsableToken, issueAccountToken, spendToken } from './account-tokens.ts';
import { accountRateLimit } from './rate-limit.ts';
import { AcceptedReply, AccountReply, VerifyEmailBody } from './schemas.ts';
import { accountView } from './service.ts';

/** Mails the account a new verification link (valid 24 h). */
export async function sendVerificationEmail(
  context: ControlPlaneContext,
  account: { id: string; email: string },
) {
  const token = await issueAccountToken(context.db.prisma, account.id, 'verify_email');
  await context.jobs.enqueue(
    SEND_EMAIL_JOB,
    verificationEmail(context.config, account.email, token),
  );
}

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

export const verificationRoutes: FastifyPluginAsyncTypebox<ControlPlaneContext> = async (
  app,
  context,
) => {
  const { prisma } = context.db;

  app.post(
    '/email/verify',
    {
      schema: {
        tags: ['accounts'],
        summary: 'Verify the email address with the token from the mailed link',
        description:
          "Needs no session: the link may be opened in another browser. Each token works once, for 24 hours. A link from a change of address (POST /v1/account/email) makes the new address the account's, verified; EMAIL_TAKEN if another account took it meanwhile.",
        security: [],
        body: VerifyEmailBody,
        response: { 200: AccountReply, ...errors(400, 409) },
      },
    },
    async (request) => {
      const now = new Date();
      const token = await findUsableToken(prisma, request.body.token, 'verify_email', now, [
        'change_email',
      ]);
      const account = await prisma.$transaction(async (tx) => {
        await spendToken(tx, token, now);
        if (token.purpose === 'change_email') return changeEmail(tx, token, now);
        return tx.account.update({
          where: { id: token.accountId },
          data: { emailVerified: true },
        });
      });
      return { account: accountView(account) };
    },
  );

  app.post(
    '/email/verify/resend',
    {
      config: { rateLimit: accountRateLimit(context) },
      schema: {
        tags: ['accounts'],
        summary: 'Mail a new verification link to the logged-in account',
        response: { 202: AcceptedReply, ...errors(401, 403, 409, 429) },
      },
    },
    async (request, reply) => {
      const developer = await requireDeveloper(prisma, request);
      const account = await prisma.account.findUniqueOrThrow({
        where: { id: developer.accountId },
      });
      if (account.emailVerified) {
        throw new ApiError(
          'EMAIL_ALREADY_VERIFIED',
          `The email address ${account.email} is already verified.`,
        );
      }
      await sendVerificationEmail(context, account);
      return reply
        .code(202)
        .send({ message: `We have sent a new verification link to ${account.email}.` });
    },
  );
};
