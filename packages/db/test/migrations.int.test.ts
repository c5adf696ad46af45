import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  applyMigrations,
  checksumOf,
  MigrationError,
  openDatabase,
  pgSession,
  readMigrations,
} from '../src/index.ts';
import { createTestDatabase, type TestDatabase } from '../src/testing.ts';
import { declaredTables } from './schema-columns.ts';

let testDb: TestDatabase;
let client: pg.Client;

beforeEach(async () => {
  testDb = await createTestDatabase('migrations');
  client = new pg.Client({ connectionString: testDb.url });
  await client.connect();
});

afterEach(async () => {
  await client.end();
  await testDb.drop();
});

type Bookkeeping = {
  migration_name: string;
  checksum: string;
  finished_at: Date | null;
  applied_steps_count: number;
};

describe('migration runner on Postgres', () => {
  it('applies every migration once and records it as prisma migrate does', async () => {
    const migrations = await readMigrations();
    expect(migrations.length).toBeGreaterThan(0);
    const first = await applyMigrations(pgSession(client), migrations);
    expect(first.applied).toEqual(migrations.map((m) => m.name));
    const second = await applyMigrations(pgSession(client), migrations);
    expect(second.applied).toEqual([]);
    expect(second.alreadyApplied).toEqual(migrations.map((m) => m.name));

    const { rows } = await client.query<Bookkeeping>(
      'SELECT migration_name, checksum, finished_at, applied_steps_count FROM _prisma_migrations ORDER BY migration_name',
    );
    expect(rows.map((r) => r.migration_name)).toEqual(migrations.map((m) => m.name));
    for (const [i, row] of rows.entries()) {
      expect(row.checksum).toBe(checksumOf(migrations[i]!.script));
      expect(row.checksum).toMatch(/^[0-9a-f]{64}$/);
      expect(row.finished_at).toBeInstanceOf(Date);
      expect(row.applied_steps_count).toBe(1);
    }
  });

  it('applies each migration exactly once when several processes start together', async () => {
    const dbs = await Promise.all(
      [1, 2, 3].map(() => openDatabase({ kind: 'postgres', url: testDb.url, poolSize: 2 })),
    );
    try {
      const reports = await Promise.all(dbs.map((db) => db.migrate()));
      const appliedCount = reports.reduce((n, r) => n + r.applied.length, 0);
      expect(appliedCount).toBe((await readMigrations()).length);
      const { rows } = await client.query('SELECT count(*)::int AS n FROM _prisma_migrations');
      expect(rows[0].n).toBe(appliedCount);
    } finally {
      await Promise.all(dbs.map((db) => db.close()));
    }
  });

  it('refuses a migration edited after it was applied', async () => {
    const migrations = await readMigrations();
    await applyMigrations(pgSession(client), migrations);
    const edited = migrations.map((m, i) =>
      i === 0
        ? { ...m, script: `${m.script}\n-- edited`, checksum: checksumOf(`${m.script}\n-- edited`) }
        : m,
    );
    await expect(applyMigrations(pgSession(client), edited)).rejects.toThrow(
      /was edited after it was applied/,
    );
  });

  it('rolls back a failing migration and records nothing for it', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'hs-migrations-'));
    try {
      await mkdir(path.join(dir, '001_ok'));
      await writeFile(path.join(dir, '001_ok', 'migration.sql'), 'CREATE TABLE ok_table (id int);');
      await mkdir(path.join(dir, '002_bad'));
      await writeFile(
        path.join(dir, '002_bad', 'migration.sql'),
        'CREATE TABLE half_done (id int);\nSELECT * FROM no_such_table;',
      );
      const migrations = await readMigrations(dir);
      const error = await applyMigrations(pgSession(client), migrations).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(MigrationError);
      expect((error as Error).message).toMatch(/002_bad failed and was rolled back.*no_such_table/);
      const { rows } = await client.query<{ migration_name: string }>(
        'SELECT migration_name FROM _prisma_migrations',
      );
      expect(rows.map((r) => r.migration_name)).toEqual(['001_ok']);
      const tables = await client.query<{ table_name: string }>(
        "SELECT table_name FROM information_schema.tables WHERE table_name IN ('ok_table', 'half_done')",
      );
      expect(tables.rows.map((r) => r.table_name)).toEqual(['ok_table']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('builds exactly the tables and columns schema.prisma declares', async () => {
    await applyMigrations(pgSession(client), await readMigrations());
    const { rows } = await client.query<{
      table_name: string;
      column_name: string;
      is_nullable: string;
    }>(
      `SELECT table_name, column_name, is_nullable FROM information_schema.columns
       WHERE table_schema = 'public' AND table_name <> '_prisma_migrations'`,
    );
    const actual = new Map<string, Map<string, boolean>>();
    for (const row of rows) {
      const table = actual.get(row.table_name) ?? new Map<string, boolean>();
      table.set(row.column_name, row.is_nullable === 'YES');
      actual.set(row.table_name, table);
    }
    const declared = declaredTables();
    expect([...actual.keys()].sort()).toEqual(declared.map((t) => t.table).sort());
    for (const table of declared) {
      const columns = actual.get(table.table)!;
      expect([...columns.keys()].sort(), `columns of ${table.table}`).toEqual(
        table.columns.map((c) => c.column).sort(),
      );
      for (const column of table.columns) {
        expect(columns.get(column.column), `${table.table}.${column.column} nullable`).toBe(
          column.nullable,
        );
      }
    }
  });
});
