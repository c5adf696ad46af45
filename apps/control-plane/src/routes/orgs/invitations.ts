import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { type Config, publicHttpUrl } from '@hubstream/config';
import type { Invitation } from '@hubstream/db';
import { enqueueJob, sendEmailContract } from '@hubstream/jobs';
import Type from 'typebox';
import type { ControlPlaneContext } from '../../context.ts';
import { ApiError } from '../../errors.ts';
import { errors } from '../../lib/schemas.ts';
import { emailKey, randomToken } from '../../lib/secrets.ts';
import { requireDeveloper } from '../../plugins/auth.ts';
import { linkMessage } from '../accounts/account-mail.ts';
import { accountRateLimit } from '../accounts/rate-limit.ts';
import {
  acceptInvitation,
  accountExists,
  createInvitation,
  findUsableInvitation,
  memberByEmail,
  pendingInvitations,
  revokeInvitation,
} from './invitation-service.ts';
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
// page. Only the token's SHA-256 is stored (invitation-service.ts).

export const INVITATION_TOKEN_PREFIX = 'hsi_';
export { INVITATION_TTL_MS } from './invitation-service.ts';

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
      const invitations = await pendingInvitations(prisma, request.params.orgId, new Date());
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
      const existing = await memberByEmail(prisma, orgId, email);
      if (existing) {
        throw new ApiError(
          'ALREADY_MEMBER',
          `${email} is already a member of "${membership.organisation.name}" (${existing.role}). Change their role on the member list instead.`,
        );
      }
      const token = randomToken(INVITATION_TOKEN_PREFIX);
      const now = new Date();
      const invitation = await createInvitation(
        prisma,
        developer,
        { organisationId: orgId, email, role, token },
        now,
      );
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
      await revokeInvitation(prisma, developer, orgId, invitationId);
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
      return {
        organisation: { id: invitation.organisation.id, name: invitation.organisation.name },
        email: invitation.email,
        role: invitation.role,
        invitedBy: invitation.invitedBy?.email ?? null,
        expiresAt: invitation.expiresAt.toISOString(),
        accountExists: await accountExists(prisma, invitation.email),
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
      const membership = await acceptInvitation(prisma, developer, invitation, now);
      return { organisation: orgView(membership) };
    },
  );
};
