import { MessageChannel } from 'node:worker_threads';
import { ThreadCalls } from '@hubstream/service';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Prisma } from '../src/generated/prisma/client.ts';
import {
  appConfigVersions,
  type Database,
  ensureAuthSettings,
  openDatabase,
  readAppConfig,
  remoteDatabase,
  serveDatabase,
} from '../src/index.ts';

// The database of `pnpm start`'s control-plane thread as the main thread
// uses it (remote.ts): a real PGlite in memory, migrated, served over one
// end of a MessageChannel and used through the other, as between two
// threads (the structured clone algorithm in between). Everything below
// goes through the remote Database; the owner's is only looked at.

const { port1, port2 } = new MessageChannel();
let owner: Database;
let remote: Database;
let served: { abandon(): Promise<void> };

beforeAll(async () => {
  owner = await openDatabase({ kind: 'pglite-memory' });
  await owner.migrate();
  if (!owner.driverAdapter) throw new Error('PGlite has a driver adapter');
  served = serveDatabase(owner, owner.driverAdapter, new ThreadCalls(port1));
  remote = await remoteDatabase(new ThreadCalls(port2), 'pglite-memory');
  await remote.sql.exec('CREATE TABLE remote_t (n int PRIMARY KEY, label text, at timestamptz)');
});

afterAll(async () => {
  await remote?.close();
  await owner?.close();
  port1.close();
});

const PASSWORD_HASH = '$argon2id$v=19$m=19456,t=2,p=1$x$y';

/** The numbers in remote_t, as the owner sees them. */
const ownerRows = async () =>
  (await owner.sql.query<{ n: number }>('SELECT n FROM remote_t ORDER BY n')).map((r) => r.n);

describe('remoteDatabase over serveDatabase', () => {
  it('is the served kind, pings, and refuses to migrate', async () => {
    expect(remote.kind).toBe('pglite-memory');
    await expect(remote.ping()).resolves.toBeUndefined();
    await expect(remote.migrate()).rejects.toThrow(
      'The thread that opened the database migrates it.',
    );
  });

  it('creates, finds and updates an account through Prisma', async () => {
    const created = await remote.prisma.account.create({
      data: { email: 'remote@example.com', passwordHash: PASSWORD_HASH },
    });
    expect(created.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(created.emailVerified).toBe(false);
    expect(created.createdAt).toBeInstanceOf(Date);

    const found = await remote.prisma.account.findUnique({
      where: { email: 'remote@example.com' },
    });
    expect(found).toEqual(created);

    const updated = await remote.prisma.account.update({
      where: { id: created.id },
      data: { emailVerified: true },
    });
    expect(updated.emailVerified).toBe(true);
    expect(updated.updatedAt.getTime()).toBeGreaterThanOrEqual(created.updatedAt.getTime());
    // The owner's database has it: one database, not a copy.
    expect(
      (await owner.prisma.account.findUnique({ where: { id: created.id } }))?.emailVerified,
    ).toBe(true);
  });

  it("raises Prisma's known request error P2002 for a unique violation", async () => {
    await remote.prisma.account.create({
      data: { email: 'twice@example.com', passwordHash: PASSWORD_HASH },
    });
    const error = await remote.prisma.account
      .create({ data: { email: 'twice@example.com', passwordHash: 'h' } })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Prisma.PrismaClientKnownRequestError);
    expect(error).toMatchObject({ code: 'P2002' });
    expect((error as Error).message).toContain('email');
    expect(await remote.prisma.account.count({ where: { email: 'twice@example.com' } })).toBe(1);
  });

  it('rolls back an interactive transaction that throws and commits one that returns', async () => {
    const refused = new Error('refused');
    const seenInside: (string | undefined)[] = [];
    await expect(
      remote.prisma.$transaction(async (tx) => {
        await tx.account.create({ data: { email: 'rolled@example.com', passwordHash: 'h' } });
        // Inside, the transaction sees its own write.
        seenInside.push(
          (await tx.account.findUnique({ where: { email: 'rolled@example.com' } }))?.email,
        );
        throw refused;
      }),
    ).rejects.toBe(refused);
    expect(seenInside).toEqual(['rolled@example.com']);
    expect(await remote.prisma.account.findUnique({ where: { email: 'rolled@example.com' } })).toBe(
      null,
    );
    expect(await owner.prisma.account.findUnique({ where: { email: 'rolled@example.com' } })).toBe(
      null,
    );

    const kept = await remote.prisma.$transaction(async (tx) => {
      const account = await tx.account.create({
        data: { email: 'kept@example.com', passwordHash: 'h' },
      });
      await tx.organisation.create({ data: { name: 'Kept', personalAccountId: account.id } });
      return account.id;
    });
    expect(
      (await owner.prisma.organisation.findUnique({ where: { personalAccountId: kept } }))?.name,
    ).toBe('Kept');
    expect((await remote.prisma.account.findUnique({ where: { id: kept } }))?.email).toBe(
      'kept@example.com',
    );
  });

  it('runs sql.query with and without a prepared statement name, errors with their code', async () => {
    const at = new Date('2026-01-02T03:04:05.678Z');
    const INSERT = 'INSERT INTO remote_t (n, label, at) VALUES ($1, $2, $3)';
    const SELECT = 'SELECT n, label, at FROM remote_t WHERE n = ANY($1::int[]) ORDER BY n';
    expect(await remote.sql.query(INSERT, [1, 'one', at], 'remote_ins')).toEqual([]);
    await remote.sql.query(INSERT, [2, null, null], 'remote_ins');
    await remote.sql.query(INSERT, [3, 'three', at]);
    const named = await remote.sql.query(SELECT, [[1, 2, 3]], 'remote_sel');
    const plain = await remote.sql.query(SELECT, [[1, 2, 3]]);
    expect(named).toEqual([
      { n: 1, label: 'one', at },
      { n: 2, label: null, at: null },
      { n: 3, label: 'three', at },
    ]);
    expect(plain).toEqual(named);
    expect((named[0] as { at: unknown }).at).toBeInstanceOf(Date);
    // The driver's error crosses with its SQLSTATE.
    await expect(remote.sql.query(INSERT, [1, 'again', null], 'remote_ins')).rejects.toMatchObject({
      code: '23505',
    });
    await expect(remote.sql.query(INSERT, [1, 'again', null])).rejects.toMatchObject({
      code: '23505',
    });
    expect(await ownerRows()).toEqual([1, 2, 3]);
    await remote.sql.exec('DELETE FROM remote_t');
    expect(await ownerRows()).toEqual([]);
  });

  it('commits an sql transaction, with its begin statements inside it', async () => {
    const before = await ownerRows();
    const result = await remote.sql.transaction(
      async (tx) => {
        await tx.query('INSERT INTO remote_t (n) VALUES ($1)', [10]);
        await tx.exec('INSERT INTO remote_t (n) VALUES (11)');
        const [setting] = await tx.query<{ value: string }>(
          "SELECT current_setting('synchronous_commit') AS value",
        );
        return setting?.value;
      },
      { begin: 'SET LOCAL synchronous_commit TO off' },
    );
    expect(result).toBe('off');
    expect(await ownerRows()).toEqual([...before, 10, 11]);
    const [after] = await remote.sql.query<{ value: string }>(
      "SELECT current_setting('synchronous_commit') AS value",
    );
    expect(after?.value).toBe('on');
  });

  it('rolls back an sql transaction whose work throws, and rethrows its error', async () => {
    const before = await ownerRows();
    const refused = new Error('refused');
    await expect(
      remote.sql.transaction(async (tx) => {
        await tx.query('INSERT INTO remote_t (n) VALUES ($1)', [20]);
        throw refused;
      }),
    ).rejects.toBe(refused);
    // A statement that fails inside: its error, and nothing of the transaction kept.
    await expect(
      remote.sql.transaction(async (tx) => {
        await tx.query('INSERT INTO remote_t (n) VALUES ($1)', [21]);
        await tx.query('INSERT INTO remote_t (n) VALUES ($1)', [21]);
      }),
    ).rejects.toMatchObject({ code: '23505' });
    await expect(
      remote.sql.transaction(async (tx) => tx.transaction(async () => {})),
    ).rejects.toThrow('Transactions do not nest.');
    // A begin statement that fails: no transaction was opened.
    await expect(
      remote.sql.transaction(async () => 'never run', { begin: 'SELECT * FROM no_such_table' }),
    ).rejects.toMatchObject({ code: '42P01' });
    expect(await ownerRows()).toEqual(before);
    // The database is free again.
    await remote.sql.transaction((tx) => tx.query('INSERT INTO remote_t (n) VALUES (22)'));
    expect(await ownerRows()).toEqual([...before, 22]);
  });

  it('abandon() rolls back an sql transaction the other side left open', async () => {
    const before = await ownerRows();
    let sqlInserted!: () => void;
    const sqlInside = new Promise<void>((resolve) => {
      sqlInserted = resolve;
    });
    let releaseSql!: () => void;
    const sqlHeld = new Promise<void>((resolve) => {
      releaseSql = resolve;
    });
    const sqlLeftOpen = remote.sql.transaction(async (tx) => {
      await tx.query('INSERT INTO remote_t (n) VALUES ($1)', [30]);
      sqlInserted();
      await sqlHeld;
      return 'finished';
    });
    await sqlInside;
    await served.abandon();
    expect(await ownerRows()).toEqual(before);
    // The owner (and the other side) can write again: nothing holds PGlite.
    await owner.sql.query('INSERT INTO remote_t (n) VALUES ($1)', [31]);
    await remote.sql.query('INSERT INTO remote_t (n) VALUES ($1)', [32]);
    expect(await ownerRows()).toEqual([...before, 31, 32]);
    // The abandoned work, should it go on, cannot commit what was rolled back.
    releaseSql();
    await expect(sqlLeftOpen).rejects.toThrow('No open transaction');
    expect(await ownerRows()).toEqual([...before, 31, 32]);
  });

  it('abandon() rolls back a Prisma transaction the other side left open', async () => {
    let created!: () => void;
    const inside = new Promise<void>((resolve) => {
      created = resolve;
    });
    let release!: () => void;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const leftOpen = remote.prisma.$transaction(
      async (tx) => {
        await tx.account.create({ data: { email: 'abandoned@example.com', passwordHash: 'h' } });
        created();
        await held;
      },
      { timeout: 60_000 },
    );
    await inside;
    await served.abandon();
    expect(
      await owner.prisma.account.findUnique({ where: { email: 'abandoned@example.com' } }),
    ).toBe(null);
    const after = await remote.prisma.account.create({
      data: { email: 'after-abandon@example.com', passwordHash: 'h' },
    });
    expect((await owner.prisma.account.findUnique({ where: { id: after.id } }))?.email).toBe(
      'after-abandon@example.com',
    );
    release();
    await expect(leftOpen).rejects.toThrow('No open transaction');
    expect(
      await owner.prisma.account.findUnique({ where: { email: 'abandoned@example.com' } }),
    ).toBe(null);
  });
});

describe("remoteDatabase's forwarding Prisma (prisma: 'forward')", () => {
  let forward: Database;
  beforeAll(async () => {
    const { port1: a, port2: b } = new MessageChannel();
    afterAll(() => a.close());
    serveDatabase(
      owner,
      owner.driverAdapter as NonNullable<Database['driverAdapter']>,
      new ThreadCalls(a),
    );
    forward = await remoteDatabase(new ThreadCalls(b), 'pglite-memory', { prisma: 'forward' });
  });

  it("runs the realtime node's repository reads on the owner's client, BigInts and Dates intact", async () => {
    const org = await owner.prisma.organisation.create({ data: { name: 'forwarded' } });
    await owner.prisma.app.create({ data: { id: 'app_fwd', name: 'Fwd', organisationId: org.id } });
    const config = await readAppConfig(forward.prisma, 'app_fwd');
    expect(config?.name).toBe('Fwd');
    expect(typeof config?.configVersion).toBe('bigint');
    expect(config?.createdAt).toBeInstanceOf(Date);
    const settings = await ensureAuthSettings(forward.prisma, 'app_fwd');
    expect(settings.appId).toBe('app_fwd');
    // The write went through the owner's client: the owner sees it, and the version moved on.
    expect(await owner.prisma.appAuthSettings.count({ where: { appId: 'app_fwd' } })).toBe(1);
    const versions = await appConfigVersions(forward.prisma, ['app_fwd', 'app_gone']);
    expect([...versions.keys()]).toEqual(['app_fwd']);
    expect(versions.get('app_fwd')).toBeGreaterThanOrEqual(config?.configVersion ?? 0n);
    expect(await readAppConfig(forward.prisma, 'app_gone')).toBeNull();
  });

  it("crosses Prisma's errors by name and code", async () => {
    await forward.prisma.account.create({
      data: { email: 'fwd-twice@example.com', passwordHash: PASSWORD_HASH },
    });
    const error = await forward.prisma.account
      .create({ data: { email: 'fwd-twice@example.com', passwordHash: PASSWORD_HASH } })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'PrismaClientKnownRequestError', code: 'P2002' });
  });

  it('forwards nothing but model methods, and says so', async () => {
    await expect(forward.prisma.$connect()).resolves.toBeUndefined();
    expect(await forward.prisma).toBe(forward.prisma);
    expect(() => forward.prisma.$transaction([])).toThrow(
      'prisma.$transaction is not forwarded to the database',
    );
    expect((forward.prisma.app as unknown as Record<string, unknown>).aggregate).toBeUndefined();
    const models = forward.prisma as unknown as Record<
      string,
      { findMany(a: object): Promise<unknown> } | undefined
    >;
    const inherited: string = 'constructor';
    await expect(models[inherited]?.findMany({})).rejects.toThrow(
      'No Prisma method constructor.findMany',
    );
  });
});
