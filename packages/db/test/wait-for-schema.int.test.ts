import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type Database, openDatabase, readMigrations, waitForSchema } from '../src/index.ts';
import { createTestDatabase, type TestDatabase } from '../src/testing.ts';

// waitForSchema is what a realtime node and a worker wait on before they
// serve; it asks through the driver, not Prisma, so that Prisma's query
// compiler is not loaded on the way to ready (start time, issue 15).

let testDb: TestDatabase;
let db: Database;

beforeEach(async () => {
  testDb = await createTestDatabase('wait_for_schema');
  db = await openDatabase({ kind: 'postgres', url: testDb.url, poolSize: 2 }, { warmUp: false });
});

afterEach(async () => {
  await db.close();
  await testDb.drop();
});

/** The database, with Prisma out of reach: any use of it fails the test. */
function withoutPrisma(database: Database): Database {
  return {
    kind: database.kind,
    sql: database.sql,
    get prisma(): never {
      throw new Error('waitForSchema used Prisma');
    },
    migrate: () => database.migrate(),
    ping: () => database.ping(),
    close: () => database.close(),
  };
}

describe('waitForSchema', () => {
  it('waits, saying what is missing, until the migrations are in, without Prisma', async () => {
    const messages: { details: object; message: string }[] = [];
    let done = false;
    const waiting = waitForSchema(
      withoutPrisma(db),
      { info: (details, message) => messages.push({ details, message }) },
      10,
    ).then(() => {
      done = true;
    });
    // Several polls on a database with no bookkeeping table yet (the first
    // one's connect may take a while on a busy machine): one report only.
    await vi.waitFor(() => expect(messages).toHaveLength(1), { timeout: 10_000 });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(done).toBe(false);
    expect(messages).toHaveLength(1);
    const expected = (await readMigrations()).map((m) => m.name);
    expect(messages[0]).toMatchObject({
      message: 'waiting for the control plane to migrate the database',
      details: { missing: expected },
    });

    await db.migrate();
    await waiting;
    expect(done).toBe(true);
  });

  it('resolves at once on a migrated database', async () => {
    await db.migrate();
    const messages: string[] = [];
    await waitForSchema(withoutPrisma(db), { info: (_, message) => messages.push(message) }, 10);
    expect(messages).toEqual([]);
  });
});
