import type {
  App,
  AppAuthSettings,
  AppLimits,
  PermissionVersion,
  PrismaClient,
} from '../generated/prisma/client.ts';

// What a realtime node reads of an app to serve it (its runtime registry):
// the settings, the active rules and the limits, with the config version
// the database bumps on every change to any of them (its triggers), so a
// node can tell whether what it loaded is still current.

/** An app as a realtime node builds its runtime from. */
export type AppConfig = App & {
  authSettings: AppAuthSettings | null;
  activePermissionVersion: PermissionVersion | null;
  limits: AppLimits | null;
};

/**
 * The app with what a node needs, and the config version it is at or
 * after: the version is read first, so a change made between the two reads
 * is seen again at the next comparison rather than never. Null when there
 * is no such app.
 */
export async function readAppConfig(
  prisma: PrismaClient,
  appId: string,
): Promise<AppConfig | null> {
  const stamp = await prisma.app.findUnique({
    where: { id: appId },
    select: { configVersion: true },
  });
  if (!stamp) return null;
  const app = await prisma.app.findUnique({
    where: { id: appId },
    include: { authSettings: true, activePermissionVersion: true, limits: true },
  });
  return app && { ...app, configVersion: stamp.configVersion };
}

/** The app's auth settings, created with the defaults when it has none yet. */
export function ensureAuthSettings(prisma: PrismaClient, appId: string): Promise<AppAuthSettings> {
  return prisma.appAuthSettings.upsert({ where: { appId }, create: { appId }, update: {} });
}

/**
 * The config version of each of `appIds` that still exists, in one query
 * (the caller keeps the list far below Postgres's bind-parameter limit).
 */
export async function appConfigVersions(
  prisma: PrismaClient,
  appIds: readonly string[],
): Promise<Map<string, bigint>> {
  const rows = await prisma.app.findMany({
    where: { id: { in: [...appIds] } },
    select: { id: true, configVersion: true },
  });
  return new Map(rows.map((row) => [row.id, row.configVersion]));
}
