import type { Prisma, PrismaClient } from '../generated/prisma/client.ts';

// The outbox of "app changed" announcements (table app_changes). A change
// and its announcement commit together, so an announcement is never lost
// with the change made nor sent for a change rolled back; publishing
// happens after the commit (the control plane's lib/app-changes.ts).

/** What changed, as the cluster bus's app.changed says it. */
export type AppChangeKind = 'auth' | 'permissions' | 'limits' | 'deleted';

export type PendingAppChange = {
  id: bigint;
  appId: string;
  what: AppChangeKind;
  /** The app's config version after the change; null for a deleted app. */
  configVersion: bigint | null;
};

const KINDS: ReadonlySet<string> = new Set<AppChangeKind>([
  'auth',
  'permissions',
  'limits',
  'deleted',
]);

/**
 * Records that `appId` changed, inside the transaction that changes it and
 * after the change: the row carries the config version the change left
 * (the database's triggers bump it), null when the app is gone.
 */
export async function recordAppChange(
  tx: Prisma.TransactionClient,
  appId: string,
  what: AppChangeKind,
): Promise<void> {
  await tx.$executeRaw`
    INSERT INTO app_changes (app_id, what, config_version)
    VALUES (${appId}, ${what}, (SELECT config_version FROM apps WHERE id = ${appId}))`;
}

/**
 * Hands up to `limit` waiting announcements, oldest first, to `publish`, and
 * deletes them when it resolves; when it throws they stay for the next try.
 * Rows another process is publishing at the moment are skipped. Resolves to
 * how many were published.
 */
export async function publishAppChanges(
  prisma: PrismaClient,
  publish: (changes: readonly PendingAppChange[]) => Promise<void>,
  limit = 100,
): Promise<number> {
  return prisma.$transaction(async (tx) => {
    const rows = await tx.$queryRaw<
      { id: bigint; app_id: string; what: string; config_version: bigint | null }[]
    >`SELECT id, app_id, what, config_version FROM app_changes
      ORDER BY id LIMIT ${limit} FOR UPDATE SKIP LOCKED`;
    if (rows.length === 0) return 0;
    const changes = rows.map((row) => ({
      id: row.id,
      appId: row.app_id,
      // Only recordAppChange writes the table; anything else reloads everything.
      what: (KINDS.has(row.what) ? row.what : 'permissions') as AppChangeKind,
      configVersion: row.config_version,
    }));
    await publish(changes);
    await tx.appChange.deleteMany({ where: { id: { in: changes.map((c) => c.id) } } });
    return changes.length;
  });
}
