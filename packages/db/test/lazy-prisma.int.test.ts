import { afterEach, describe, expect, it } from 'vitest';
import type { PrismaClient } from '../src/index.ts';
import { type Database, openDatabase } from '../src/index.ts';
import { lazyPrisma } from '../src/lazy-prisma.ts';
import { createTestDatabase, type TestDatabase } from '../src/testing.ts';

// A realtime node opens its database with warmUp: false, and its Prisma
// client is a stand-in until the first query (lazy-prisma.ts): the queries
// made before the client exists must behave as the client's own, in
// transactions too, on Postgres and on PGlite.

describe('the lazy Prisma stand-in', () => {
  it('makes no client until used, then one, for every query made before it', async () => {
    let made = 0;
    const calls: string[] = [];
    const fake = {
      app: {
        findUnique: async (args: { where: { id: string } }) => {
          calls.push(`findUnique ${args.where.id}`);
          return { id: args.where.id };
        },
      },
      $disconnect: async () => {
        calls.push('disconnect');
      },
    };
    const { client } = lazyPrisma(async () => {
      made++;
      return fake as unknown as PrismaClient;
    });
    // Made, not run: like Prisma's queries, these run when awaited.
    const first = client.app.findUnique({ where: { id: 'a' } });
    const second = client.app.findUnique({ where: { id: 'b' } });
    expect(made).toBe(0);
    expect(calls).toEqual([]);
    expect(await Promise.all([second, first])).toEqual([{ id: 'b' }, { id: 'a' }]);
    expect(made).toBe(1);
    expect(calls).toEqual(['findUnique b', 'findUnique a']);
    // Once made, the stand-in forwards, with the method bound to the client.
    expect(client.app).toBe(fake.app);
    await client.$disconnect();
    expect(calls.at(-1)).toBe('disconnect');
  });

  it('does not load the client to disconnect it, and retries a failed load', async () => {
    let attempts = 0;
    const { client } = lazyPrisma(async () => {
      attempts++;
      if (attempts === 1) throw new Error('no module');
      return { $connect: async () => {} } as unknown as PrismaClient;
    });
    await client.$disconnect();
    expect(attempts).toBe(0);
    await expect(client.$connect()).rejects.toThrow('no module');
    await expect(client.$connect()).resolves.toBeUndefined();
    expect(attempts).toBe(2);
  });
});

async function exercise(db: Database) {
  const { prisma } = db;
  // Every one of these is made while the client is not there yet.
  const org = prisma.organisation.create({ data: { name: 'lazy org' } });
  const count = prisma.organisation.count();
  const [created, before] = await prisma.$transaction([org, count]);
  expect(created.name).toBe('lazy org');
  expect(before).toBe(1);
  const inside = await prisma.$transaction(async (tx) => {
    await tx.organisation.update({ where: { id: created.id }, data: { name: 'renamed' } });
    return tx.organisation.findUnique({ where: { id: created.id } });
  });
  expect(inside?.name).toBe('renamed');
  const raw = await prisma.$queryRaw<{ n: number }[]>`SELECT ${2}::int + 1 AS n`;
  expect(raw[0]?.n).toBe(3);
  // Loaded now: a query goes straight to the client.
  expect(await prisma.organisation.findMany({ select: { name: true } })).toEqual([
    { name: 'renamed' },
  ]);
}

describe('a database opened without warm-up', () => {
  let db: Database | undefined;
  let testDb: TestDatabase | undefined;
  afterEach(async () => {
    await db?.close();
    await testDb?.drop();
    db = undefined;
    testDb = undefined;
  });

  it('queries, transactions and raw SQL on Postgres through the stand-in', async () => {
    testDb = await createTestDatabase('lazy_prisma');
    db = await openDatabase({ kind: 'postgres', url: testDb.url }, { warmUp: false });
    // Through the driver: the client is still not there.
    await db.migrate();
    await exercise(db);
  });

  it('the same on PGlite', async () => {
    db = await openDatabase({ kind: 'pglite-memory' }, { warmUp: false });
    await db.migrate();
    await exercise(db);
  });
});
