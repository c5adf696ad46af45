import type { Membership, Organisation, Prisma, PrismaClient } from '@hubstream/db';
import { ApiError } from '../../errors.ts';
import { audit } from '../../lib/audit.ts';
import type { Developer } from '../../plugins/auth.ts';
import { allows, type OrgAction, ROLE_TABLE, type Role } from './roles.ts';

// Organisations and their members. Every check of what a member may do goes
// through the role table (roles.ts).

type Db = PrismaClient | Prisma.TransactionClient;

export type MembershipWithOrg = Membership & { organisation: Organisation };

/**
 * The account's own organisation, which it owns: made at sign-up (and for
 * accounts made before organisations, by their migration).
 */
export async function createPersonalOrganisation(
  tx: Prisma.TransactionClient,
  account: { id: string; email: string },
) {
  return tx.organisation.create({
    data: {
      name: account.email,
      personalAccountId: account.id,
      memberships: { create: { accountId: account.id, role: 'owner' } },
    },
  });
}

export const orgView = (membership: MembershipWithOrg, memberCount?: number) => ({
  id: membership.organisation.id,
  name: membership.organisation.name,
  personal: membership.organisation.personalAccountId === membership.accountId,
  role: membership.role,
  ...(memberCount === undefined ? {} : { memberCount }),
  createdAt: membership.organisation.createdAt.toISOString(),
});

const roleSentence = (role: Role) => (role === 'admin' ? 'an admin' : `a ${role}`);

/** Said when a member's role does not allow `action`; names who may. */
export function notAllowed(action: OrgAction | keyof typeof ROLE_TABLE, role: Role, where: string) {
  const { minimum, label } = ROLE_TABLE[action];
  const who = minimum === 'owner' ? 'the owner' : `${minimum}s and above`;
  return new ApiError(
    'FORBIDDEN',
    `You are ${roleSentence(role)} of ${where}: "${label}" is for ${who} (role table: GET /v1/roles). Ask its owner or an admin.`,
  );
}

/**
 * The caller's membership of the organisation; an organisation it is not a
 * member of is a 404 (ids cannot be probed). With `action`, a role that may
 * not do it is a 403 that says which role may.
 */
export async function requireMembership(
  db: Db,
  developer: Developer,
  organisationId: string,
  action?: OrgAction,
): Promise<MembershipWithOrg> {
  const membership = await db.membership.findUnique({
    where: { organisationId_accountId: { organisationId, accountId: developer.accountId } },
    include: { organisation: true },
  });
  if (!membership) throw new ApiError('NOT_FOUND', `Organisation ${organisationId} was not found.`);
  if (action && !allows(membership.role, action)) {
    throw notAllowed(action, membership.role, `"${membership.organisation.name}"`);
  }
  return membership;
}

/**
 * Where a new app goes: the organisation named, when the caller may create
 * apps there; otherwise the caller's own organisation.
 */
export async function organisationForNewApp(
  prisma: PrismaClient,
  developer: Developer,
  organisationId: string | undefined,
): Promise<string> {
  if (organisationId) {
    return (await requireMembership(prisma, developer, organisationId, 'apps:create'))
      .organisationId;
  }
  const own = await prisma.organisation.findUnique({
    where: { personalAccountId: developer.accountId },
  });
  if (own) return own.id;
  // An account from before organisations whose own was never made (the
  // migration made one for every account, so only rows written by hand).
  return prisma.$transaction(
    async (tx) =>
      (await createPersonalOrganisation(tx, { id: developer.accountId, email: developer.email }))
        .id,
  );
}

/** The ids of every organisation the account belongs to. */
export async function organisationIdsOf(prisma: PrismaClient, accountId: string) {
  const rows = await prisma.membership.findMany({
    where: { accountId },
    select: { organisationId: true },
  });
  return rows.map((r) => r.organisationId);
}

// ------------------------------------------------- organisations and members

/** What a member row is shown with: the account's address. */
const withEmail = { account: { select: { email: true } } } as const;

/** Every organisation the account belongs to, with its member count. */
export const membershipsWithCounts = (prisma: PrismaClient, accountId: string) =>
  prisma.membership.findMany({
    where: { accountId },
    include: { organisation: { include: { _count: { select: { memberships: true } } } } },
  });

/** A new organisation owned by the developer; resolves to the owner's membership. */
export function createOrganisation(prisma: PrismaClient, developer: Developer, name: string) {
  return prisma.$transaction(async (tx) => {
    const organisation = await tx.organisation.create({
      data: { name, memberships: { create: { accountId: developer.accountId, role: 'owner' } } },
    });
    await audit(tx, {
      appId: null,
      principal: developer,
      action: 'org.created',
      target: organisation.id,
      details: { name: organisation.name },
    });
    return tx.membership.findUniqueOrThrow({
      where: {
        organisationId_accountId: {
          organisationId: organisation.id,
          accountId: developer.accountId,
        },
      },
      include: { organisation: true },
    });
  });
}

export async function renameOrganisation(
  prisma: PrismaClient,
  developer: Developer,
  membership: MembershipWithOrg,
  name: string,
) {
  const orgId = membership.organisationId;
  await prisma.$transaction(async (tx) => {
    await tx.organisation.update({ where: { id: orgId }, data: { name } });
    await audit(tx, {
      appId: null,
      principal: developer,
      action: 'org.renamed',
      target: orgId,
      details: { from: membership.organisation.name, to: name },
    });
  });
}

/** The organisation's members with their addresses, oldest first. */
export const listMembers = (prisma: PrismaClient, organisationId: string) =>
  prisma.membership.findMany({
    where: { organisationId },
    include: withEmail,
    orderBy: { createdAt: 'asc' },
  });

/** The member `accountId` of the organisation, or a 404 naming it. */
export async function findMember(prisma: PrismaClient, organisationId: string, accountId: string) {
  const member = await prisma.membership.findUnique({
    where: { organisationId_accountId: { organisationId, accountId } },
    include: withEmail,
  });
  if (!member)
    throw new ApiError('NOT_FOUND', `Account ${accountId} is not a member of this organisation.`);
  return member;
}

export type Member = Awaited<ReturnType<typeof findMember>>;

export function changeMemberRole(
  prisma: PrismaClient,
  developer: Developer,
  member: Member,
  role: Role,
) {
  const { organisationId, accountId } = member;
  return prisma.$transaction(async (tx) => {
    const row = await tx.membership.update({
      where: { organisationId_accountId: { organisationId, accountId } },
      data: { role },
      include: withEmail,
    });
    await audit(tx, {
      appId: null,
      principal: developer,
      action: 'org.member_role_changed',
      target: organisationId,
      details: { member: member.account.email, from: member.role, to: role },
    });
    return row;
  });
}

export async function removeMember(prisma: PrismaClient, developer: Developer, member: Member) {
  const { organisationId, accountId } = member;
  await prisma.$transaction(async (tx) => {
    await tx.membership.delete({
      where: { organisationId_accountId: { organisationId, accountId } },
    });
    await audit(tx, {
      appId: null,
      principal: developer,
      action: 'org.member_removed',
      target: organisationId,
      details: { member: member.account.email, role: member.role },
    });
  });
}

/** The developer leaves the organisation of `membership` (its own). */
export async function leaveOrganisation(
  prisma: PrismaClient,
  developer: Developer,
  membership: MembershipWithOrg,
) {
  const { organisationId } = membership;
  await prisma.$transaction(async (tx) => {
    await tx.membership.delete({
      where: { organisationId_accountId: { organisationId, accountId: developer.accountId } },
    });
    await audit(tx, {
      appId: null,
      principal: developer,
      action: 'org.member_left',
      target: organisationId,
      details: { role: membership.role },
    });
  });
}

/** The owner (`developer`, of `membership`) hands the organisation to `member`, and becomes an admin. */
export async function transferOwnership(
  prisma: PrismaClient,
  developer: Developer,
  membership: MembershipWithOrg,
  member: Member,
) {
  const orgId = membership.organisationId;
  await prisma.$transaction(async (tx) => {
    // One owner at a time (a unique index): demote before promoting.
    await tx.membership.update({
      where: {
        organisationId_accountId: { organisationId: orgId, accountId: developer.accountId },
      },
      data: { role: 'admin' },
    });
    await tx.membership.update({
      where: { organisationId_accountId: { organisationId: orgId, accountId: member.accountId } },
      data: { role: 'owner' },
    });
    if (membership.organisation.personalAccountId === developer.accountId) {
      await tx.organisation.update({ where: { id: orgId }, data: { personalAccountId: null } });
    }
    await audit(tx, {
      appId: null,
      principal: developer,
      action: 'org.ownership_transferred',
      target: orgId,
      details: { from: developer.email, to: member.account.email },
    });
  });
}
