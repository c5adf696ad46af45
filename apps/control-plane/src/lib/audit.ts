import type { Prisma, PrismaClient } from '@hubstream/db';
import { actorOf, type Principal } from '../plugins/auth.ts';

/** Records who changed what on an app. Details never hold secrets. */
export async function audit(
  prisma: PrismaClient | Prisma.TransactionClient,
  entry: {
    appId: string | null;
    principal: Principal;
    action: string;
    target?: string;
    details?: Record<string, unknown>;
  },
) {
  await prisma.auditEvent.create({
    data: {
      appId: entry.appId,
      accountId: entry.principal.kind === 'developer' ? entry.principal.accountId : null,
      actor: actorOf(entry.principal),
      action: entry.action,
      target: entry.target ?? null,
      details: (entry.details ?? {}) as Prisma.InputJsonObject,
    },
  });
}
