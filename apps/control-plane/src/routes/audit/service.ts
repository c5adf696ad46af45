import type { PrismaClient } from '@hubstream/db';

export type AuditQuery = {
  /** At most this many, newest first. */
  limit: number;
  /** Only events with a lower id (the page before). */
  before?: string | undefined;
  actor?: string | undefined;
  action?: string | undefined;
  since?: string | undefined;
  until?: string | undefined;
};

/** The app's audit events that match `query`, newest first. */
export function findAuditEvents(prisma: PrismaClient, appId: string, query: AuditQuery) {
  const { before, actor, action, since, until } = query;
  return prisma.auditEvent.findMany({
    where: {
      appId,
      ...(before ? { id: { lt: BigInt(before) } } : {}),
      // Prisma's contains is a LIKE: the actor's own % and _ are escaped to match as text.
      ...(actor
        ? {
            actor: { contains: actor.replace(/[\\%_]/g, '\\$&'), mode: 'insensitive' as const },
          }
        : {}),
      // "limits" is every limits.* action; "limits.updated" that one.
      ...(action
        ? action.includes('.')
          ? { action }
          : { action: { startsWith: `${action}.` } }
        : {}),
      ...(since || until
        ? {
            createdAt: {
              ...(since ? { gte: new Date(since) } : {}),
              ...(until ? { lt: new Date(until) } : {}),
            },
          }
        : {}),
    },
    orderBy: { id: 'desc' },
    take: query.limit,
  });
}
