import type { PrismaClient } from '@hubstream/db';
import { ApiError } from '../../errors.ts';
import { audit } from '../../lib/audit.ts';
import { sha256 } from '../../lib/secrets.ts';
import type { Developer } from '../../plugins/auth.ts';
import type { Role } from './roles.ts';

// Invitations to an organisation, as rows: only the token's SHA-256 is
// stored. The routes, the mail and the views are in invitations.ts.

export const INVITATION_TTL_MS = 7 * 24 * 3600_000;

/** Who sent an invitation, as it is shown. */
const withInviter = { invitedBy: { select: { email: true } } } as const;

/** The organisation's invitations that may still be accepted, oldest first. */
export const pendingInvitations = (prisma: PrismaClient, organisationId: string, now: Date) =>
  prisma.invitation.findMany({
    where: { organisationId, acceptedAt: null, revokedAt: null, expiresAt: { gt: now } },
    include: withInviter,
    orderBy: { createdAt: 'asc' },
  });

/** The member of the organisation with this (normalised) address, or null. */
export const memberByEmail = (prisma: PrismaClient, organisationId: string, email: string) =>
  prisma.membership.findFirst({ where: { organisationId, account: { email } } });

/**
 * A new invitation whose link carries `token`; a pending invitation of the
 * same address to the same organisation is withdrawn by it.
 */
export function createInvitation(
  prisma: PrismaClient,
  developer: Developer,
  invite: { organisationId: string; email: string; role: Role; token: string },
  now: Date,
) {
  const { organisationId, email, role } = invite;
  return prisma.$transaction(async (tx) => {
    await tx.invitation.updateMany({
      where: { organisationId, email, acceptedAt: null, revokedAt: null },
      data: { revokedAt: now },
    });
    const created = await tx.invitation.create({
      data: {
        organisationId,
        email,
        role,
        tokenHash: sha256(invite.token),
        invitedById: developer.accountId,
        createdAt: now,
        expiresAt: new Date(now.getTime() + INVITATION_TTL_MS),
      },
      include: withInviter,
    });
    await audit(tx, {
      appId: null,
      principal: developer,
      action: 'org.member_invited',
      target: organisationId,
      details: { email, role },
    });
    return created;
  });
}

/** Withdraws the organisation's pending invitation `invitationId`, or a 404. */
export async function revokeInvitation(
  prisma: PrismaClient,
  developer: Developer,
  organisationId: string,
  invitationId: string,
) {
  const invitation = await prisma.invitation.findFirst({
    where: { id: invitationId, organisationId, acceptedAt: null, revokedAt: null },
  });
  if (!invitation) {
    throw new ApiError('NOT_FOUND', `No pending invitation ${invitationId} in this organisation.`);
  }
  await prisma.$transaction(async (tx) => {
    await tx.invitation.update({ where: { id: invitation.id }, data: { revokedAt: new Date() } });
    await audit(tx, {
      appId: null,
      principal: developer,
      action: 'org.invitation_revoked',
      target: organisationId,
      details: { email: invitation.email, role: invitation.role },
    });
  });
}

/** The invitation of a link while it may still be accepted; otherwise INVALID_TOKEN saying why. */
export async function findUsableInvitation(prisma: PrismaClient, token: string, now: Date) {
  const invitation = await prisma.invitation.findUnique({
    where: { tokenHash: sha256(token) },
    include: { organisation: true, ...withInviter },
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

export type UsableInvitation = Awaited<ReturnType<typeof findUsableInvitation>>;

/** Whether an account of this address exists (the invitation page offers login or sign-up). */
export async function accountExists(prisma: PrismaClient, email: string) {
  return (await prisma.account.findUnique({ where: { email } })) !== null;
}

/**
 * The developer joins the organisation of the invitation with its role, and
 * its address counts as verified: the link was mailed to it. Resolves to the
 * new membership.
 */
export function acceptInvitation(
  prisma: PrismaClient,
  developer: Developer,
  invitation: UsableInvitation,
  now: Date,
) {
  return prisma.$transaction(async (tx) => {
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
    await tx.account.update({ where: { id: developer.accountId }, data: { emailVerified: true } });
    await audit(tx, {
      appId: null,
      principal: developer,
      action: 'org.member_joined',
      target: invitation.organisationId,
      details: { role: invitation.role, invitedBy: invitation.invitedBy?.email ?? null },
    });
    return created;
  });
}
