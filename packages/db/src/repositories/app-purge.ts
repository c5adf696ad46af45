import type { PrismaClient } from '../generated/prisma/client.ts';

// What the worker's purge of a deleted app removes from the database: rows
// of the app that the delete's cascade did not reach (none, normally).

/** Whether an app with this id exists. */
export async function appExists(prisma: PrismaClient, appId: string): Promise<boolean> {
  const app = await prisma.app.findUnique({ where: { id: appId }, select: { id: true } });
  return app !== null;
}

/** Deletes every row that belongs to `appId`, in one transaction; resolves to how many went. */
export async function deleteAppRows(prisma: PrismaClient, appId: string): Promise<number> {
  const where = { where: { appId } };
  const results = await prisma.$transaction([
    prisma.record.deleteMany(where),
    prisma.appUser.deleteMany(where),
    prisma.apiKey.deleteMany(where),
    prisma.permissionVersion.deleteMany(where),
    prisma.appAuthSettings.deleteMany(where),
    prisma.usageSample.deleteMany(where),
  ]);
  return results.reduce((sum, result) => sum + result.count, 0);
}
