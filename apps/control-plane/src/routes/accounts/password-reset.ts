import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { type ControlPlaneContext, SESSION_COOKIE } from '../../context.ts';
import { errors } from '../../lib/schemas.ts';
import { emailKey } from '../../lib/secrets.ts';
import { passwordResetEmail, SEND_EMAIL_JOB } from './account-mail.ts';
import { accountByEmail, resetPassword } from './email-service.ts';
import { accountRateLimit } from './rate-limit.ts';
import { AcceptedReply, AccountReply, ForgotPasswordBody, ResetPasswordBody } from './schemas.ts';
import { accountView } from './service.ts';
import { issueAccountToken } from './token-service.ts';

// The same answer for every address, so this route cannot tell anyone
// whether an account exists.
const FORGOT_REPLY = {
  message:
    'If an account uses this email address, we have sent it a link to reset the password. The link works once, for 1 hour.',
} as const;

export const passwordResetRoutes: FastifyPluginAsyncTypebox<ControlPlaneContext> = async (
  app,
  context,
) => {
  const { prisma } = context.db;

  app.post(
    '/password/forgot',
    {
      config: { rateLimit: accountRateLimit(context) },
      schema: {
        tags: ['accounts'],
        summary: 'Mail a password reset link',
        description:
          'Answers 202 with the same body whether or not an account has this email address.',
        security: [],
        body: ForgotPasswordBody,
        response: { 202: AcceptedReply, ...errors(400, 429) },
      },
    },
    async (request, reply) => {
      const account = await accountByEmail(prisma, emailKey(request.body.email));
      if (account) {
        try {
          const token = await issueAccountToken(prisma, account.id, 'reset_password');
          await context.jobs.enqueue(
            SEND_EMAIL_JOB,
            passwordResetEmail(context.config, account.email, token),
          );
        } catch (error) {
          // A different answer would reveal that the account exists.
          request.log.error({ err: error }, 'could not queue a password reset email');
        }
      }
      return reply.code(202).send(FORGOT_REPLY);
    },
  );

  app.post(
    '/password/reset',
    {
      config: { rateLimit: accountRateLimit(context) },
      schema: {
        tags: ['accounts'],
        summary: 'Set a new password with the token from the mailed link',
        description:
          'Ends every session of the account; log in again with the new password. Each token works once, for 1 hour.',
        security: [],
        body: ResetPasswordBody,
        response: { 200: AccountReply, ...errors(400, 429) },
      },
    },
    async (request, reply) => {
      const account = await resetPassword(prisma, request.body.token, request.body.password);
      reply.clearCookie(SESSION_COOKIE, { path: '/' });
      return { account: accountView(account) };
    },
  );
};
