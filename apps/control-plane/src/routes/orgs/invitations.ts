import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { type Config, publicHttpUrl } from '@hubstream/config';
import type { Invitation, PrismaClient } from '@hubstream/db';
import { enqueueJob, sendEmailContract } from '@hubstream/jobs';
import Type from 'typebox';
import type { ControlPlaneContext } from '../../context.ts';
import { ApiError } from '../../errors.ts';
import { audit } from '../../lib/audit.ts';
import { errors } from '../../lib/schemas.ts';
import { emailKey, randomToken, sha256 } from '../../lib/secrets.ts';
import { requireDeveloper } from '../../plugins/auth.ts';
import { linkMessage } from '../accounts/account-mail.ts';
import { accountRateLimit } from '../accounts/rate-limit.ts';
import {
  AcceptReply,
  InvitationList,
  InvitationParams,
  InvitationPreview,
  InvitationToken,
  InvitationView,
  InviteBody,
  OrgParams,
} from './schemas.ts';
import { orgView, requireMembership } from './service.ts';

// Invitations to an organisation: mailed through the job queue as the
// account mails are, with a one-time link to the dashboard's /invitation
// page. Only the token's SHA-256 is stored.

export const INVITATION_TOKEN_PREFIX = 'hsi_';
export const INVITATION_TTL_MS = 7 * 24 * 3600_000;

const tags = ['organisations'];

export function invitationEmail(
  config: Config,
  parts: { to: string; organisation: string; role: string; invitedBy: string; token: string },
) {
  return linkMessage({
    to: parts.to,
    subject: `${parts.invitedBy} invited you to ${parts.organisation} on Hubstream`,
    intro: `${parts.invitedBy} invited you to join the organisation "${parts.organisation}" on Hubstream as ${parts.role === 'admin' ? 'an admin' : `a ${parts.role}`}. Open the link to accept; if you have no Hubstream account yet, you can create one there with this address.`,
    action: 'Accept the invitation',
    link: `${publicHttpUrl(config)}/invitation?token=${encodeURIComponent(parts.token)}`,
    outro:
      'The link works once and expires in 7 days. If you did not expect this, you can ignore this email.',
  });
}

const invitationView = (i: Invitation & { invitedBy: { email: string } | null }) => ({
  id: i.id,
  email: i.email,
  role: i.role,
  invitedBy: i.invitedBy?.email ?? null,
  createdAt: i.createdAt.toISOString(),
  expiresAt: i.expiresAt.toISOString(),
});

/** The invitation of a link while it may still be accepted; otherwise INVALID_TOKEN saying why. */
async function findUsableInvitation(prisma: PrismaClient, token: string, now: Date) {
  const invitation = await prisma.invitation.findUnique({
    where: { tokenHash: sha256(token) },
    include: { organisation: true, invitedBy: { select: { email: true } } },
  });
  const invalid = (why: string) => new ApiError('INVALID_TOKEN', `This invitation ${why}`);
  if (!invitation) {
    throw invalid(
      'link is not valid. Check that you used the whole link, or ask for a new invitation.',
    );
  }
  if (invitation.acceptedAt) throw invalid('has already been accepted.');
  if (invitation.revokedAt) throw invalid('was withdrawn. Ask for a new one if you need it.');
  if (invitation.expiresAt.getTime() <= now.getTime()) {
    throw invalid('has expired. Ask an admin of the organisation for a new one.');
  }
  return invitation;
}

export const invitationRoutes: FastifyPluginAsyncTypebox<ControlPlaneContext> = async (
  app,
  context,
) => {
  const { prisma } = context.db;

  app.get(
    '/orgs/:orgId/invitations',
    {
      schema: {
        tags,
        summary: 'List the pending invitations of an organisation',
        params: OrgParams,
        response: { 200: InvitationList, ...errors(401, 403, 404) },
      },
    },
    async (request) => {
      const developer = await requireDeveloper(prisma, request);
      await requireMembership(prisma, developer, request.params.orgId, 'org:read');
      const invitations = await prisma.invitation.findMany({
        where: {
          organisationId: request.params.orgId,
          acceptedAt: null,
          revokedAt: null,
          expiresAt: { gt: new Date() },
        },
        include: { invitedBy: { select: { email: true } } },
        orderBy: { createdAt: 'asc' },
      });
      return { invitations: invitations.map(invitationView) };
    },
  );

  app.post(
    '/orgs/:orgId/invitations',
    {
      config: { rateLimit: accountRateLimit(context) },
      schema: {
        tags,
        summary: 'Invite someone by email',
        description:
          'Mails a link (valid 7 days) that joins the organisation with the role given. Inviting an address again replaces its pending invitation. ALREADY_MEMBER when an account of that address is a member already.',
        params: OrgParams,
        body: InviteBody,
        response: { 201: InvitationView, ...errors(400, 401, 403, 404, 409, 429) },
      },
    },
    async (request, reply) => {
      const developer = await requireDeveloper(prisma, request);
      const { orgId } = request.params;
      const membership = await requireMembership(prisma, developer, orgId, 'members:manage');
      const email = emailKey(request.body.email);
      const { role } = request.body;
      const existing = await prisma.membership.findFirst({
        where: { organisationId: orgId, account: { email } },
      });
      if (existing) {
        throw new ApiError(
          'ALREADY_MEMBER',
          `${email} is already a member of "${membership.organisation.name}" (${existing.role}). Change their role on the member list instead.`,
        );
      }
      const token = randomToken(INVITATION_TOKEN_PREFIX);
      const now = new Date();
      const invitation = await prisma.$transaction(async (tx) => {
        await tx.invitation.updateMany({
          where: { organisationId: orgId, email, acceptedAt: null, revokedAt: null },
          data: { revokedAt: now },
        });
        const created = await tx.invitation.create({
          data: {
            organisationId: orgId,
            email,
            role,
            tokenHash: sha256(token),
            invitedById: developer.accountId,
            createdAt: now,
            expiresAt: new Date(now.getTime() + INVITATION_TTL_MS),
          },
          include: { invitedBy: { select: { email: true } } },
        });
        await audit(tx, {
          appId: null,
          principal: developer,
          action: 'org.member_invited',
          target: orgId,
          details: { email, role },
        });
        return created;
      });
      // The invitation stands without the mail: it can be sent again.
      await enqueueJob(
        context.jobs,
        sendEmailContract,
        invitationEmail(context.config, {
          to: email,
          organisation: membership.organisation.name,
          role,
          invitedBy: developer.email,
          token,
        }),
      ).catch((error: unknown) => {
        request.log.error({ err: error }, 'could not queue the invitation email');
      });
      return reply.code(201).send(invitationView(invitation));
    },
  );

  app.delete(
    '/orgs/:orgId/invitations/:invitationId',
    {
      schema: {
        tags,
        summary: 'Withdraw a pending invitation',
        description: 'Its link stops working at once.',
        params: InvitationParams,
        response: { 204: Type.Null(), ...errors(401, 403, 404) },
      },
    },
    async (request, reply) => {
      const developer = await requireDeveloper(prisma, request);
      const { orgId, invitationId } = request.params;
      await requireMembership(prisma, developer, orgId, 'members:manage');
      const invitation = await prisma.invitation.findFirst({
        where: { id: invitationId, organisationId: orgId, acceptedAt: null, revokedAt: null },
      });
      if (!invitation) {
        throw new ApiError(
          'NOT_FOUND',
          `No pending invitation ${invitationId} in this organisation.`,
        );
      }
      await prisma.$transaction(async (tx) => {
        await tx.invitation.update({
          where: { id: invitation.id },
          data: { revokedAt: new Date() },
        });
        await audit(tx, {
          appId: null,
          principal: developer,
          action: 'org.invitation_revoked',
          target: orgId,
          details: { email: invitation.email, role: invitation.role },
        });
      });
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/invitations/preview',
    {
      schema: {
        tags,
        summary: 'What an invitation link is for',
        description:
          'Needs no session, so the invitation page can say who invited whom before the invited person logs in or signs up.',
        security: [],
        body: InvitationToken,
        response: { 200: InvitationPreview, ...errors(400) },
      },
    },
    async (request) => {
      const invitation = await findUsableInvitation(prisma, request.body.token, new Date());
      const account = await prisma.account.findUnique({ where: { email: invitation.email } });
      return {
        organisation: { id: invitation.organisation.id, name: invitation.organisation.name },
        email: invitation.email,
        role: invitation.role,
        invitedBy: invitation.invitedBy?.email ?? null,
        expiresAt: invitation.expiresAt.toISOString(),
        accountExists: account !== null,
      };
    },
  );

  app.post(
    '/invitations/accept',
    {
      schema: {
        tags,
        summary: 'Accept an invitation',
        description:
          'With the account of the address invited (log in, or sign up with it first). Joins the organisation with the role of the invitation, and verifies the address: the link was mailed to it.',
        body: InvitationToken,
        response: { 200: AcceptReply, ...errors(400, 401, 403, 409) },
      },
    },
    async (request) => {
      const developer = await requireDeveloper(prisma, request);
      const now = new Date();
      const invitation = await findUsableInvitation(prisma, request.body.token, now);
      if (emailKey(developer.email) !== invitation.email) {
        throw new ApiError(
          'FORBIDDEN',
          `This invitation is for ${invitation.email}, and you are logged in as ${developer.email}. Log in with the account of ${invitation.email} (or sign up with that address) to accept it.`,
        );
      }
      const membership = await prisma.$transaction(async (tx) => {
        const { count } = await tx.invitation.updateMany({
          where: { id: invitation.id, acceptedAt: null, revokedAt: null, expiresAt: { gt: now } },
          data: { acceptedAt: now },
        });
        if (count !== 1) {
          throw new ApiError(
            'INVALID_TOKEN',
            'This invitation was accepted, withdrawn or expired meanwhile.',
          );
        }
        const existing = await tx.membership.findUnique({
          where: {
            organisationId_accountId: {
              organisationId: invitation.organisationId,
              accountId: developer.accountId,
            },
          },
        });
        if (existing) {
          throw new ApiError(
            'ALREADY_MEMBER',
            `You are already a member of "${invitation.organisation.name}" (${existing.role}).`,
          );
        }
        const created = await tx.membership.create({
          data: {
            organisationId: invitation.organisationId,
            accountId: developer.accountId,
            role: invitation.role,
          },
          include: { organisation: true },
        });
        await tx.account.update({
          where: { id: developer.accountId },
          data: { emailVerified: true },
        });
        await audit(tx, {
          appId: null,
          principal: developer,
          action: 'org.member_joined',
          target: invitation.organisationId,
          details: { role: invitation.role, invitedBy: invitation.invitedBy?.email ?? null },
        });
        return created;
      });
      return { organisation: orgView(membership) };
    },
  );
};
