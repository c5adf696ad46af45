import { setTimeout as sleep } from 'node:timers/promises';
import type { Database } from './database.ts';
import { readMigrations } from './migrations.ts';

/**
 * Resolves once every migration on disk is applied. Processes that do not
 * migrate (realtime nodes, workers) wait on the one that does (the control
 * plane), and say so in `log`, at most every 30 s, with what is still missing.
 */
export async function waitForSchema(
  db: Database,
  log: { info(details: object, message: string): void },
  pollMs = 500,
): Promise<void> {
  const expected = (await readMigrations()).map((m) => m.name);
  let lastReport = 0;
  for (;;) {
    let missing = expected;
    let reason: string | undefined;
    try {
      // Through the driver, not Prisma: Prisma's first query loads and
      // compiles its query compiler (WebAssembly, a quarter of a realtime
      // node's start), which a node may do once it serves (openDatabase's warmUp).
      const rows = await db.sql.query<{ migration_name: string }>(
        `SELECT migration_name FROM "_prisma_migrations"
         WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL`,
      );
      const applied = new Set(rows.map((r) => r.migration_name));
      missing = expected.filter((name) => !applied.has(name));
    } catch (error) {
      reason = (error as Error).message; // no bookkeeping table yet, or no database
    }
    if (missing.length === 0) return;
    if (Date.now() - lastReport >= 30_000) {
      lastReport = Date.now();
      log.info(
        { missing, ...(reason ? { reason } : {}) },
        'waiting for the control plane to migrate the database',
      );
    }
    await sleep(pollMs);
  }
}
