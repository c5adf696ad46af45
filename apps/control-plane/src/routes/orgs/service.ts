import type { Membership, Organisation, Prisma, PrismaClient } from '@hubstream/db';
import { ApiError } from '../../errors.ts';
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
