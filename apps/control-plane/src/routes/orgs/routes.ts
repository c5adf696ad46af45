import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import type { ControlPlaneContext } from '../../context.ts';
import { ApiError } from '../../errors.ts';
import { errors } from '../../lib/schemas.ts';
import { requireDeveloper } from '../../plugins/auth.ts';
import { invitationRoutes } from './invitations.ts';
import { type Role, roleTableView } from './roles.ts';
import {
  ChangeRoleBody,
  CreateOrgBody,
  MemberList,
  MemberParams,
  MemberView,
  OrgList,
  OrgParams,
  OrgView,
  RoleTable,
  TransferBody,
} from './schemas.ts';
import {
  changeMemberRole,
  createOrganisation,
  findMember,
  leaveOrganisation,
  listMembers,
  membershipsWithCounts,
  orgView,
  removeMember,
  renameOrganisation,
  requireMembership,
  transferOwnership,
} from './service.ts';

// Organisations and their members (issue 18 item 5). What a member may do is
// the role table's (roles.ts); invitations are in invitations.ts.

const tags = ['organisations'];

export const orgRoutes: FastifyPluginAsyncTypebox<ControlPlaneContext> = async (app, context) => {
  const { prisma } = context.db;
  await app.register(invitationRoutes, context);

  const memberView = (m: {
    accountId: string;
    role: Role;
    createdAt: Date;
    account: { email: string };
  }) => ({
    accountId: m.accountId,
    email: m.account.email,
    role: m.role,
    joinedAt: m.createdAt.toISOString(),
  });

  app.get(
    '/roles',
    {
      schema: {
        tags,
        summary: 'What each role may do',
        description:
          'The role table every check reads: each action, the least role that may do it, and which roles may. Needs no session.',
        security: [],
        // 400: the input guard's refusal of a malformed query (a NUL), as on every route.
        response: { 200: RoleTable, ...errors(400) },
      },
    },
    async () => roleTableView(),
  );

  app.get(
    '/orgs',
    {
      schema: {
        tags,
        summary: 'List your organisations',
        description: 'Every organisation you belong to, with your role in it; your own one first.',
        response: { 200: OrgList, ...errors(401, 403) },
      },
    },
    async (request) => {
      const developer = await requireDeveloper(prisma, request);
      const memberships = await membershipsWithCounts(prisma, developer.accountId);
      const views = memberships.map((m) => orgView(m, m.organisation._count.memberships));
      views.sort((a, b) => Number(b.personal) - Number(a.personal) || a.name.localeCompare(b.name));
      return { organisations: views };
    },
  );

  app.post(
    '/orgs',
    {
      schema: {
        tags,
        summary: 'Create an organisation',
        description: 'You become its owner. Invite members with POST /v1/orgs/{orgId}/invitations.',
        body: CreateOrgBody,
        response: { 201: OrgView, ...errors(400, 401, 403) },
      },
    },
    async (request, reply) => {
      const developer = await requireDeveloper(prisma, request);
      const membership = await createOrganisation(prisma, developer, request.body.name.trim());
      return reply.code(201).send(orgView(membership, 1));
    },
  );

  app.patch(
    '/orgs/:orgId',
    {
      schema: {
        tags,
        summary: 'Rename an organisation',
        params: OrgParams,
        body: CreateOrgBody,
        response: { 200: OrgView, ...errors(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const developer = await requireDeveloper(prisma, request);
      const { orgId } = request.params;
      const membership = await requireMembership(prisma, developer, orgId, 'org:rename');
      const name = request.body.name.trim();
      await renameOrganisation(prisma, developer, membership, name);
      return orgView({ ...membership, organisation: { ...membership.organisation, name } });
    },
  );

  app.get(
    '/orgs/:orgId/members',
    {
      schema: {
        tags,
        summary: 'List the members of an organisation',
        params: OrgParams,
        response: { 200: MemberList, ...errors(401, 403, 404) },
      },
    },
    async (request) => {
      const developer = await requireDeveloper(prisma, request);
      await requireMembership(prisma, developer, request.params.orgId, 'org:read');
      const members = await listMembers(prisma, request.params.orgId);
      return { members: members.map(memberView) };
    },
  );

  app.patch(
    '/orgs/:orgId/members/:accountId',
    {
      schema: {
        tags,
        summary: "Change a member's role",
        description:
          'To admin, developer or viewer. The owner keeps the owner role until they transfer ownership (POST /v1/orgs/{orgId}/transfer).',
        params: MemberParams,
        body: ChangeRoleBody,
        response: { 200: MemberView, ...errors(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const developer = await requireDeveloper(prisma, request);
      const { orgId, accountId } = request.params;
      await requireMembership(prisma, developer, orgId, 'members:manage');
      const member = await findMember(prisma, orgId, accountId);
      if (member.role === 'owner') {
        throw new ApiError(
          'FORBIDDEN',
          "The owner's role changes only when they hand the organisation to another member (transfer ownership).",
        );
      }
      const updated = await changeMemberRole(prisma, developer, member, request.body.role);
      return memberView(updated);
    },
  );

  app.delete(
    '/orgs/:orgId/members/:accountId',
    {
      schema: {
        tags,
        summary: 'Remove a member',
        description:
          'The member loses access to every app of the organisation at once. The owner cannot be removed; to leave yourself, POST /v1/orgs/{orgId}/leave.',
        params: MemberParams,
        response: { 204: Type.Null(), ...errors(401, 403, 404) },
      },
    },
    async (request, reply) => {
      const developer = await requireDeveloper(prisma, request);
      const { orgId, accountId } = request.params;
      await requireMembership(prisma, developer, orgId, 'members:manage');
      const member = await findMember(prisma, orgId, accountId);
      if (member.role === 'owner') {
        throw new ApiError(
          'FORBIDDEN',
          'The owner cannot be removed. The owner may hand the organisation to another member first.',
        );
      }
      await removeMember(prisma, developer, member);
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/orgs/:orgId/leave',
    {
      schema: {
        tags,
        summary: 'Leave an organisation',
        description:
          'Any member but the owner, who hands the organisation to another member first.',
        params: OrgParams,
        response: { 204: Type.Null(), ...errors(401, 403, 404) },
      },
    },
    async (request, reply) => {
      const developer = await requireDeveloper(prisma, request);
      const { orgId } = request.params;
      const membership = await requireMembership(prisma, developer, orgId);
      if (membership.role === 'owner') {
        throw new ApiError(
          'FORBIDDEN',
          `You own "${membership.organisation.name}": transfer ownership to another member before you leave.`,
        );
      }
      await leaveOrganisation(prisma, developer, membership);
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/orgs/:orgId/transfer',
    {
      schema: {
        tags,
        summary: 'Transfer ownership to another member',
        description:
          'Owner only. The member named becomes the owner and you become an admin. If this was your own organisation, your next apps go to a new one of your own.',
        params: OrgParams,
        body: TransferBody,
        response: { 200: MemberList, ...errors(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const developer = await requireDeveloper(prisma, request);
      const { orgId } = request.params;
      const { accountId } = request.body;
      const membership = await requireMembership(prisma, developer, orgId, 'ownership:transfer');
      if (accountId === developer.accountId) {
        throw new ApiError(
          'VALIDATION_FAILED',
          'You already own this organisation: name another member.',
          [{ in: 'body', path: '/accountId', message: 'is you' }],
        );
      }
      const member = await findMember(prisma, orgId, accountId);
      await transferOwnership(prisma, developer, membership, member);
      const members = await listMembers(prisma, orgId);
      return { members: members.map(memberView) };
    },
  );
};
