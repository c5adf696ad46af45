import type { PrismaClient } from '@hubstream/db';

/** The app's stored usage samples from `from` on, oldest first. */
export const usageSince = (prisma: PrismaClient, appId: string, from: Date) =>
  prisma.usageSample.findMany({
    where: { appId, minute: { gte: from } },
    orderBy: { minute: 'asc' },
  });
