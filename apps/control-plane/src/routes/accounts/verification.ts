import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { ControlPlaneContext } from '../../context.ts';
import { ApiError } from '../../errors.ts';
import { errors } from '../../lib/schemas.ts';
import { requireDeveloper } from '../../plugins/auth.ts';
import { SEND_EMAIL_JOB, verificationEmail } from './account-mail.ts';
import { verifyEmail } from './email-service.ts';
import { accountRateLimit } from './rate-limit.ts';
import { AcceptedReply, AccountReply, VerifyEmailBody } from './schemas.ts';
import { accountView } from './service.ts';
import { accountById } from './settings-service.ts';
import { issueAccountToken } from './token-service.ts';

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
      const account = await verifyEmail(prisma, request.body.token);
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
      const account = await accountById(prisma, developer.accountId);
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
