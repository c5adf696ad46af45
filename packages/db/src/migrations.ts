import { createHash, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { packageRoot } from '@hubstream/config';
import type { SqlSession } from './sql.ts';

// Applies prisma/migrations the way `prisma migrate deploy` does, without
// Prisma's schema-engine binary: same folder format, same bookkeeping table,
// same checksum (SHA-256 of migration.sql) and the same advisory lock key, so
// either tool can take over from the other.

// prisma/migrations at the repository's root; a built and deployed package
// reads its own copy, which `pnpm build` puts in packages/db/dist/migrations.
const PACKAGE_ROOT = packageRoot(import.meta.url);
export const MIGRATIONS_DIR = [
  path.join(PACKAGE_ROOT, '..', '..', 'prisma', 'migrations'),
  path.join(PACKAGE_ROOT, 'dist', 'migrations'),
].find((dir) => existsSync(dir)) as string;

/** The lock id Prisma's migrate uses, so the two never run at once. */
export const MIGRATION_LOCK_ID = 72707369;

export type Migration = { name: string; script: string; checksum: string };

export type MigrationReport = { applied: string[]; alreadyApplied: string[] };

export class MigrationError extends Error {
  override readonly name = 'MigrationError';
}

export function checksumOf(script: string): string {
  return createHash('sha256').update(script, 'utf8').digest('hex');
}

/** Reads every `<timestamp>_<name>/migration.sql` folder, in name order. */
export async function readMigrations(dir: string = MIGRATIONS_DIR): Promise<Migration[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const names = entries
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
  const migrations: Migration[] = [];
  for (const name of names) {
    const script = await readFile(path.join(dir, name, 'migration.sql'), 'utf8');
    migrations.push({ name, script, checksum: checksumOf(script) });
  }
  return migrations;
}

const BOOKKEEPING_TABLE = `CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id"                    VARCHAR(36) PRIMARY KEY NOT NULL,
    "checksum"              VARCHAR(64) NOT NULL,
    "finished_at"           TIMESTAMPTZ,
    "migration_name"        VARCHAR(255) NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        TIMESTAMPTZ,
    "started_at"            TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count"   INTEGER NOT NULL DEFAULT 0
)`;

type Row = {
  migration_name: string;
  checksum: string;
  finished_at: Date | null;
  rolled_back_at: Date | null;
};

/**
 * Applies every migration not yet applied, in order, each exactly once and
 * each in its own transaction, under the advisory lock. `session` must be a
 * single connection (the lock belongs to it).
 */
export async function applyMigrations(
  session: SqlSession,
  migrations: readonly Migration[],
): Promise<MigrationReport> {
  await session.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_ID]);
  try {
    await session.exec(BOOKKEEPING_TABLE);
    const rows = await session.query<Row>(
      'SELECT migration_name, checksum, finished_at, rolled_back_at FROM "_prisma_migrations"',
    );
    const failed = rows.find((r) => r.finished_at === null && r.rolled_back_at === null);
    if (failed) {
      throw new MigrationError(
        `Migration ${failed.migration_name} failed earlier and is still marked as failed in _prisma_migrations. ` +
          'Fix the database by hand, then mark it rolled back or applied (prisma migrate resolve) before starting again.',
      );
    }
    const applied = new Map(
      rows
        .filter((r) => r.finished_at !== null && r.rolled_back_at === null)
        .map((r) => [r.migration_name, r]),
    );
    const report: MigrationReport = { applied: [], alreadyApplied: [] };
    for (const migration of migrations) {
      const existing = applied.get(migration.name);
      if (existing) {
        if (existing.checksum !== migration.checksum) {
          throw new MigrationError(
            `Migration ${migration.name} was edited after it was applied (checksum ${existing.checksum} in the database, ${migration.checksum} on disk). Add a new migration instead of editing an applied one.`,
          );
        }
        report.alreadyApplied.push(migration.name);
        continue;
      }
      await session.exec('BEGIN');
      try {
        await session.exec(migration.script);
        await session.query(
          `INSERT INTO "_prisma_migrations" (id, checksum, migration_name, started_at, finished_at, applied_steps_count)
           VALUES ($1, $2, $3, now(), now(), 1)`,
          [randomUUID(), migration.checksum, migration.name],
        );
        await session.exec('COMMIT');
      } catch (error) {
        await session.exec('ROLLBACK');
        throw new MigrationError(
          `Migration ${migration.name} failed and was rolled back: ${(error as Error).message}`,
          { cause: error },
        );
      }
      report.applied.push(migration.name);
    }
    return report;
  } finally {
    await session.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_ID]);
  }
}
