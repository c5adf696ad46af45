import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Database, openDatabase } from '../src/index.ts';
import { createTestDatabase, type TestDatabase } from '../src/testing.ts';

// SqlSession.query with a statement name, on both drivers: the rows and the
// errors are those of the same query without a name (on PGlite the named
// one runs through the wire protocol, prepared once), a statement that
// failed to parse is tried again, and on PGlite a named statement never
// runs inside someone else's open transaction.

const kinds = ['postgres', 'pglite-memory'] as const;

describe.each(kinds)('SqlSession.query with a name on %s', (kind) => {
  let testDb: TestDatabase | undefined;
  let db: Database;

  beforeAll(async () => {
    if (kind === 'postgres') {
      testDb = await createTestDatabase('sqlprep');
      db = await openDatabase({ kind, url: testDb.url, poolSize: 2 });
    } else {
      db = await openDatabase({ kind }, { warmUp: false });
    }
    await db.sql.exec(
      'CREATE TABLE r (id text PRIMARY KEY, n int NOT NULL, data jsonb, tags text[], at timestamptz)',
    );
  });

  afterAll(async () => {
    await db?.close();
    await testDb?.drop();
  });

  const INSERT = 'INSERT INTO r (id, n, data, tags, at) VALUES ($1, $2, $3::jsonb, $4, $5)';
  const SELECT = 'SELECT id, n, data, tags, at FROM r WHERE id = ANY($1::text[]) ORDER BY id';

  it('gives the rows a query without a name gives, for every type', async () => {
    const at = new Date('2026-01-02T03:04:05.678Z');
    await db.sql.query(
      INSERT,
      ['a', 1, '{"x":[1,"it\'s \\\\ {y}"]}', ['p', 'q r'], at],
      'prep_ins',
    );
    await db.sql.query(INSERT, ['b', 2, null, null, null], 'prep_ins');
    const named = await db.sql.query(SELECT, [['a', 'b', 'c']], 'prep_sel');
    const plain = await db.sql.query(SELECT, [['a', 'b', 'c']]);
    expect(named).toEqual(plain);
    expect(named).toEqual([
      { id: 'a', n: 1, data: { x: [1, "it's \\ {y}"] }, tags: ['p', 'q r'], at },
      { id: 'b', n: 2, data: null, tags: null, at: null },
    ]);
    // Run again, prepared: the same.
    expect(await db.sql.query(SELECT, [['a']], 'prep_sel')).toEqual([named[0]]);
    expect(await db.sql.query(SELECT, [['none']], 'prep_sel')).toEqual([]);
  });

  it('fails with the error and its SQLSTATE, and runs again after', async () => {
    await expect(
      db.sql.query(INSERT, ['a', 3, null, null, null], 'prep_ins'),
    ).rejects.toMatchObject({ code: '23505' });
    await expect(
      db.sql.query(INSERT, ['c', null, null, null, null], 'prep_ins'),
    ).rejects.toMatchObject({ code: '23502' });
    await db.sql.query(INSERT, ['c', 3, '[]', [], null], 'prep_ins');
    const [row] = await db.sql.query<{ n: number }>(
      'SELECT n FROM r WHERE id = $1',
      ['c'],
      'prep_n',
    );
    expect(row?.n).toBe(3);
  });

  it('tries a statement that did not parse again', async () => {
    await expect(db.sql.query('SELEC 1', [], 'prep_typo')).rejects.toMatchObject({ code: '42601' });
    if (kind === 'pglite-memory') {
      // PGlite forgets the failed name: a corrected text may take it.
      expect(await db.sql.query('SELECT 1 AS one', [], 'prep_typo')).toEqual([{ one: 1 }]);
    }
    expect(await db.sql.query('SELECT 2 AS two', [], 'prep_two')).toEqual([{ two: 2 }]);
  });

  it('waits for an open transaction instead of running inside it', async () => {
    let inserted = () => {};
    const insertedYet = new Promise<void>((resolve) => {
      inserted = resolve;
    });
    let rollBack = () => {};
    const rolledBack = new Promise<void>((resolve) => {
      rollBack = resolve;
    });
    const refused = new Error('roll back');
    const transaction = db.sql.transaction(async (tx) => {
      await tx.query(INSERT, ['tx', 9, null, null, null]);
      inserted();
      await rolledBack;
      throw refused;
    });
    await insertedYet;
    const counted = db.sql.query<{ count: number }>(
      'SELECT count(*)::int AS count FROM r WHERE id = $1',
      ['tx'],
      'prep_count',
    );
    // Time for the statement to run if nothing held it back.
    const settled = await Promise.race([
      counted.then(() => 'answered'),
      new Promise((resolve) => setTimeout(() => resolve('waiting'), 200)),
    ]);
    if (kind === 'pglite-memory') expect(settled).toBe('waiting');
    rollBack();
    await expect(transaction).rejects.toBe(refused);
    // Postgres: another pool client, which never saw the uncommitted row;
    // PGlite: one backend, so the statement waited for the transaction.
    expect(await counted).toEqual([{ count: 0 }]);
  });
});
