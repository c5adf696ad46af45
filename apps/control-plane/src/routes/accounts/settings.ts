import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { type RouteContext, SESSION_COOKIE } from '../../context.ts';
import { ApiError } from '../../errors.ts';
import { errors } from '../../lib/schemas.ts';
import { emailKey, hashPassword } from '../../lib/secrets.ts';
import { requireDeveloper } from '../../plugins/auth.ts';
import { emailChangeEmail, emailChangeNotice, SEND_EMAIL_JOB } from './account-mail.ts';
import { deleteAccount } from './deletion-service.ts';
import { accountRateLimit } from './rate-limit.ts';
import {
  ChangeEmailBody,
  ChangeEmailReply,
  ChangePasswordBody,
  ChangePasswordReply,
  DeleteAccountBody,
  RevokedReply,
  SessionIdParams,
  SessionsReply,
} from './schemas.ts';
import { accountView } from './service.ts';
import {
  accountById,
  auditEmailChangeRequested,
  cancelEmailChanges,
  changePassword,
  confirmPassword,
  emailTaken,
  endSessions,
  listSessions,
} from './settings-service.ts';
import { issueAccountToken } from './token-service.ts';

// The logged-in developer's own account: its password, its email address,
// its sessions, and deleting it. Whatever could lock the owner out or hand
// the account to someone else (password, address, deletion) asks for the
// current password again, so a session left open on a shared computer is
// not enough; those routes are rate limited like log-in, since each is a
// password guess.

/** Most sessions listed: the newest, so a pile of old script tokens cannot grow the reply. */
export const SESSIONS_LISTED = 100;

const tags = ['accounts'];

export const accountSettingsRoutes: FastifyPluginAsyncTypebox<RouteContext> = async (
  app,
  context,
) => {
  const { prisma } = context.db;

  app.post(
    '/account/password',
    {
      config: { rateLimit: accountRateLimit(context) },
      schema: {
        tags,
        summary: 'Change the password',
        description:
          'Needs the current password. Every other session of the account ends (dashboard logins and session tokens); the one making the request stays. Password reset links mailed earlier stop working.',
        body: ChangePasswordBody,
        response: { 200: ChangePasswordReply, ...errors(401, 403, 429) },
      },
    },
    async (request) => {
      const developer = await requireDeveloper(prisma, request);
      await confirmPassword(prisma, developer.accountId, request.body.currentPassword);
      const passwordHash = await hashPassword(request.body.newPassword);
      const { account, endedSessions } = await changePassword(prisma, developer, passwordHash);
      return { account: accountView(account), endedSessions };
    },
  );

  app.post(
    '/account/email',
    {
      config: { rateLimit: accountRateLimit(context) },
      schema: {
        tags,
        summary: 'Change the email address (confirmed by a link mailed to the new one)',
        description:
          'Needs the current password. Mails a link to the new address, and a notice to the current one; the account keeps its current address, for logging in and for mail, until the link is opened (POST /v1/email/verify with its token), within 24 hours. Asking again replaces the earlier request. An address another account uses is refused (EMAIL_TAKEN), as on sign-up.',
        body: ChangeEmailBody,
        response: { 202: ChangeEmailReply, ...errors(400, 401, 403, 409, 429) },
      },
    },
    async (request, reply) => {
      const developer = await requireDeveloper(prisma, request);
      // The password first: without it, nothing here tells whether an address is taken.
      const account = await confirmPassword(prisma, developer.accountId, request.body.password);
      const email = emailKey(request.body.email);
      if (email === account.email) {
        throw new ApiError(
          'VALIDATION_FAILED',
          `${email} is already this account's email address.`,
          [{ in: 'body', path: '/email', message: 'is the current address' }],
        );
      }
      if (await emailTaken(prisma, email)) {
        throw new ApiError('EMAIL_TAKEN', 'An account with this email already exists.');
      }
      const now = new Date();
      // Only the newest request counts: earlier links stop working.
      await cancelEmailChanges(prisma, account.id, now);
      const token = await issueAccountToken(prisma, account.id, 'change_email', now, email);
      await context.jobs.enqueue(SEND_EMAIL_JOB, emailChangeEmail(context.config, email, token));
      await context.jobs
        .enqueue(SEND_EMAIL_JOB, emailChangeNotice(context.config, account.email, email))
        .catch((error: unknown) => {
          // The change itself can go on: the link to the new address is on its way.
          request.log.error({ err: error }, 'could not queue the email change notice');
        });
      await auditEmailChangeRequested(prisma, developer, email);
      return reply.code(202).send({
        message: `We have sent a link to ${email}. Your account keeps ${account.email} until the link is opened.`,
        pendingEmail: email,
      });
    },
  );

  app.delete(
    '/account/email/pending',
    {
      schema: {
        tags,
        summary: 'Cancel a change of email address that is waiting for its link',
        description:
          'The link mailed to the new address stops working. Answers 204 also when nothing was pending.',
        response: { 204: Type.Null(), ...errors(401, 403) },
      },
    },
    async (request, reply) => {
      const developer = await requireDeveloper(prisma, request);
      await cancelEmailChanges(prisma, developer.accountId, new Date());
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/account/sessions',
    {
      schema: {
        tags,
        summary: "The account's sessions",
        description: `Dashboard logins and session tokens that have not expired, newest first (at most ${SESSIONS_LISTED}; \`total\` counts all). \`current\` marks the one making the request.`,
        response: { 200: SessionsReply, ...errors(401, 403) },
      },
    },
    async (request) => {
      const developer = await requireDeveloper(prisma, request);
      const { rows, total } = await listSessions(prisma, developer, SESSIONS_LISTED);
      return {
        sessions: rows.map((row) => ({
          id: row.id,
          kind: row.kind,
          createdAt: row.createdAt.toISOString(),
          lastUsedAt: row.lastUsedAt?.toISOString() ?? null,
          expiresAt: row.expiresAt.toISOString(),
          userAgent: row.userAgent,
          address: row.address,
          current: row.id === developer.sessionId,
        })),
        total,
      };
    },
  );

  app.delete(
    '/account/sessions/:sessionId',
    {
      schema: {
        tags,
        summary: 'End one session',
        description:
          "Ends a session of this account: its cookie or token stops working at once. Ending the current session logs out. Another account's session answers 404, as an unknown one does.",
        params: SessionIdParams,
        response: { 204: Type.Null(), ...errors(400, 401, 403, 404) },
      },
    },
    async (request, reply) => {
      const developer = await requireDeveloper(prisma, request);
      const { sessionId } = request.params;
      const count = await endSessions(prisma, developer.accountId, { only: sessionId });
      if (count === 0) throw new ApiError('NOT_FOUND', `Session ${sessionId} was not found.`);
      if (sessionId === developer.sessionId) reply.clearCookie(SESSION_COOKIE, { path: '/' });
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/account/sessions/revoke-others',
    {
      schema: {
        tags,
        summary: 'End every session but this one',
        response: { 200: RevokedReply, ...errors(401, 403) },
      },
    },
    async (request) => {
      const developer = await requireDeveloper(prisma, request);
      const count = await endSessions(prisma, developer.accountId, { except: developer.sessionId });
      return { revoked: count };
    },
  );

  app.post(
    '/account/delete',
    {
      config: { rateLimit: accountRateLimit(context) },
      schema: {
        tags,
        summary: 'Delete the account and all its apps',
        description:
          "Confirm by sending the account's email address and its password. Deletes every app of the account with its users, API keys (they stop working at once), rules and records (what the apps left in Redis is purged by a queued job, as when an app is deleted), ends every session and logs out. The audit trail keeps who deleted what. This cannot be undone.",
        body: DeleteAccountBody,
        response: { 204: Type.Null(), ...errors(400, 401, 403, 429) },
      },
    },
    async (request, reply) => {
      const developer = await requireDeveloper(prisma, request);
      const current = await accountById(prisma, developer.accountId);
      if (emailKey(request.body.email) !== current.email) {
        throw new ApiError(
          'VALIDATION_FAILED',
          `Type the account's email address, ${current.email}, to confirm that you want to delete it.`,
          [{ in: 'body', path: '/email', message: "is not the account's email address" }],
        );
      }
      await confirmPassword(prisma, developer.accountId, request.body.password);
      await deleteAccount(context, developer, request.log);
      reply.clearCookie(SESSION_COOKIE, { path: '/' });
      return reply.code(204).send(null);
    },
  );
};
