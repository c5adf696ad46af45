import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Database, openDatabase } from '../src/index.ts';
import { createTestDatabase, type TestDatabase } from '../src/testing.ts';

// SqlSession.transaction on both drivers: committed when the work resolves,
// rolled back when it throws, the `begin` statements run inside it, and on
// Postgres the pool's client goes back usable either way.

const kinds = ['postgres', 'pglite-memory'] as const;

describe.each(kinds)('SqlSession.transaction on %s', (kind) => {
  let testDb: TestDatabase | undefined;
  let db: Database;

  beforeAll(async () => {
    if (kind === 'postgres') {
      testDb = await createTestDatabase('sqltx');
      db = await openDatabase({ kind, url: testDb.url, poolSize: 1 });
    } else {
      db = await openDatabase({ kind }, { warmUp: false });
    }
    await db.sql.exec('CREATE TABLE t (n int PRIMARY KEY)');
  });

  afterAll(async () => {
    await db?.close();
    await testDb?.drop();
  });

  const rows = async () =>
    (await db.sql.query<{ n: number }>('SELECT n FROM t ORDER BY n')).map((row) => row.n);

  it('commits what the work did, with the begin statements inside the transaction', async () => {
    const result = await db.sql.transaction(
      async (tx) => {
        await tx.query('INSERT INTO t (n) VALUES ($1)', [1], 'tx_insert');
        const [setting] = await tx.query<{ value: string }>(
          "SELECT current_setting('synchronous_commit') AS value",
        );
        return setting?.value;
      },
      { begin: 'SET LOCAL synchronous_commit TO off; SELECT pg_advisory_xact_lock(7)' },
    );
    expect(result).toBe('off');
    expect(await rows()).toEqual([1]);
    // SET LOCAL ended with the transaction.
    const [after] = await db.sql.query<{ value: string }>(
      "SELECT current_setting('synchronous_commit') AS value",
    );
    expect(after?.value).toBe('on');
  });

  it('rolls back and rethrows when the work throws, and a failed statement too', async () => {
    const refused = new Error('refused');
    await expect(
      db.sql.transaction(async (tx) => {
        await tx.query('INSERT INTO t (n) VALUES ($1)', [2], 'tx_insert');
        throw refused;
      }),
    ).rejects.toBe(refused);
    await expect(
      db.sql.transaction(async (tx) => {
        await tx.query('INSERT INTO t (n) VALUES ($1)', [3], 'tx_insert');
        await tx.query('INSERT INTO t (n) VALUES ($1)', [1], 'tx_insert');
      }),
    ).rejects.toMatchObject({ code: '23505' });
    await expect(db.sql.transaction(async (tx) => tx.transaction(async () => {}))).rejects.toThrow(
      'Transactions do not nest.',
    );
    expect(await rows()).toEqual([1]);
    // The (only) connection is usable after each.
    await db.sql.transaction((tx) => tx.query('INSERT INTO t (n) VALUES (4)'));
    expect(await rows()).toEqual([1, 4]);
  });
});
