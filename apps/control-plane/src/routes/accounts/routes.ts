import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply } from 'fastify';
import Type from 'typebox';
import { type RouteContext, SESSION_COOKIE, SESSION_TTL_MS } from '../../context.ts';
import { errors } from '../../lib/schemas.ts';
import { requireDeveloper } from '../../plugins/auth.ts';
import { passwordResetRoutes } from './password-reset.ts';
import { accountRateLimit } from './rate-limit.ts';
import { AccountView, Credentials, LoginReply, SignupBody, SignupReply } from './schemas.ts';
import {
  type AccountRow,
  accountView,
  checkCredentials,
  closeSession,
  createAccount,
  openSession,
} from './service.ts';
import { accountSettingsRoutes } from './settings.ts';
import { accountById, pendingEmailOf } from './settings-service.ts';
import { sendVerificationEmail, verificationRoutes } from './verification.ts';

export const accountRoutes: FastifyPluginAsyncTypebox<RouteContext> = async (app, context) => {
  const { prisma } = context.db;
  await app.register(verificationRoutes, context);
  await app.register(passwordResetRoutes, context);
  await app.register(accountSettingsRoutes, context);
  // Secure whenever the dashboard is public over https, and on any request
  // that came over TLS (the server's own, or a trusted proxy's X-Forwarded-Proto).
  const publicOverHttps = (context.config.PUBLIC_HTTP_URL ?? '').startsWith('https://');

  async function startSession(reply: FastifyReply, account: AccountRow, mode: 'token' | 'cookie') {
    const origin = {
      userAgent: reply.request.headers['user-agent'],
      address: reply.request.ip,
    };
    if (mode === 'token') return { token: await openSession(prisma, account.id, 'bearer', origin) };
    const token = await openSession(prisma, account.id, 'cookie', origin);
    reply.setCookie(SESSION_COOKIE, token, {
      httpOnly: true,
      sameSite: 'lax',
      secure: publicOverHttps || reply.request.protocol === 'https',
      path: '/',
      maxAge: SESSION_TTL_MS / 1000,
    });
    return {};
  }

  app.post(
    '/signup',
    {
      config: { rateLimit: accountRateLimit(context) },
      schema: {
        tags: ['accounts'],
        summary: 'Create a developer account',
        security: [],
        body: SignupBody,
        response: { 201: SignupReply, ...errors(400, 409, 429) },
      },
    },
    async (request, reply) => {
      const account = await createAccount(prisma, request.body.email, request.body.password);
      // The account stands without the mail: the developer can ask for another link.
      await sendVerificationEmail(context, account).catch((error: unknown) => {
        request.log.error({ err: error }, 'could not queue the verification email');
      });
      const session = await startSession(reply, account, request.body.session ?? 'token');
      return reply.code(201).send({ account: accountView(account), ...session });
    },
  );

  app.post(
    '/login',
    {
      config: { rateLimit: accountRateLimit(context) },
      schema: {
        tags: ['accounts'],
        summary: 'Log in',
        security: [],
        body: Credentials,
        response: { 200: LoginReply, ...errors(400, 401, 429) },
      },
    },
    async (request, reply) => {
      const account = await checkCredentials(prisma, request.body.email, request.body.password);
      const mode = request.body.session ?? 'token';
      const session = await startSession(reply, account, mode);
      return mode === 'cookie' ? { account: accountView(account) } : session;
    },
  );

  app.post(
    '/logout',
    {
      schema: {
        tags: ['accounts'],
        summary: 'End the current session (token or cookie)',
        response: { 204: Type.Null(), ...errors(401) },
      },
    },
    async (request, reply) => {
      const developer = await requireDeveloper(prisma, request);
      await closeSession(prisma, developer.sessionId);
      reply.clearCookie(SESSION_COOKIE, { path: '/' });
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/me',
    {
      schema: {
        tags: ['accounts'],
        summary: 'The logged-in account',
        response: { 200: Type.Object({ account: AccountView }), ...errors(401, 403) },
      },
    },
    async (request) => {
      const developer = await requireDeveloper(prisma, request);
      const account = await accountById(prisma, developer.accountId);
      const pendingEmail = await pendingEmailOf(prisma, account.id);
      return { account: { ...accountView(account), ...(pendingEmail ? { pendingEmail } : {}) } };
    },
  );
};
