import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Database, openDatabase, type PrismaClient } from '../src/index.ts';
import { createTestDatabase, type TestDatabase } from '../src/testing.ts';

// Create, read, update and delete on every model through Prisma Client, after
// applying the migrations to a fresh database: a migration that drifts from
// schema.prisma (a missing column, a wrong type or default) fails here.

async function exerciseEveryModel(prisma: PrismaClient) {
  const later = new Date(Date.now() + 3_600_000);

  const account = await prisma.account.create({
    data: { email: 'dev@example.com', passwordHash: '$argon2id$v=19$m=19456,t=2,p=1$x$y' },
  });
  expect(account.emailVerified).toBe(false);
  expect(account.id).toMatch(/^[0-9a-f-]{36}$/);
  await expect(
    prisma.account.create({ data: { email: 'dev@example.com', passwordHash: 'h' } }),
  ).rejects.toThrow();
  expect(
    (await prisma.account.update({ where: { id: account.id }, data: { emailVerified: true } }))
      .emailVerified,
  ).toBe(true);

  const session = await prisma.session.create({
    data: { accountId: account.id, kind: 'bearer', tokenHash: 'sha-1', expiresAt: later },
  });
  expect((await prisma.session.findUnique({ where: { tokenHash: 'sha-1' } }))?.id).toBe(session.id);
  await prisma.session.update({ where: { id: session.id }, data: { lastUsedAt: new Date() } });

  const token = await prisma.accountToken.create({
    data: {
      accountId: account.id,
      purpose: 'reset_password',
      tokenHash: 'tok-1',
      expiresAt: later,
    },
  });
  expect(
    (await prisma.accountToken.update({ where: { id: token.id }, data: { usedAt: new Date() } }))
      .usedAt,
  ).toBeInstanceOf(Date);

  const app = await prisma.app.create({
    data: { id: 'app_crud1', accountId: account.id, name: 'Chat', authSettings: { create: {} } },
    include: { authSettings: true },
  });
  expect(app.authSettings).toMatchObject({
    openEnabled: true,
    emailEnabled: false,
    webhookEnabled: false,
    webhookPermittedStatusCodes: [200],
    webhookRetryStatusCodes: [404, 504],
    webhookPromoteToHeader: [],
    webhookHeaders: {},
    unauthenticatedTimeoutMs: 180000,
    strategyOrder: ['email', 'webhook', 'open'],
    maxAuthAttempts: 3,
  });
  await prisma.app.update({ where: { id: app.id }, data: { name: 'Chat 2' } });
  const settings = await prisma.appAuthSettings.update({
    where: { appId: app.id },
    data: {
      webhookEnabled: true,
      webhookUrl: 'https://auth.example.com/login',
      webhookPromoteToHeader: ['token'],
      webhookHeaders: { 'x-app': 'chat' },
      webhookPermittedStatusCodes: [200, 201],
      webhookSigningSecret: 'whsec_1',
    },
  });
  expect(settings.webhookPromoteToHeader).toEqual(['token']);
  expect(settings.webhookHeaders).toEqual({ 'x-app': 'chat' });

  const user = await prisma.appUser.create({
    data: {
      appId: app.id,
      email: 'Ann@Example.com',
      emailKey: 'ann@example.com',
      passwordHash: 'h',
      clientData: { name: 'Ann' },
      serverData: { role: 'admin', tags: [1, 2] },
    },
  });
  await expect(
    prisma.appUser.create({
      data: {
        appId: app.id,
        email: 'ANN@example.com',
        emailKey: 'ann@example.com',
        passwordHash: 'h',
      },
    }),
  ).rejects.toThrow();
  const found = await prisma.appUser.findUnique({
    where: { appId_emailKey: { appId: app.id, emailKey: 'ann@example.com' } },
  });
  expect(found?.serverData).toEqual({ role: 'admin', tags: [1, 2] });
  await prisma.appUser.update({ where: { id: user.id }, data: { clientData: { name: 'Annie' } } });

  const version = await prisma.permissionVersion.create({
    data: {
      appId: app.id,
      version: 1,
      source: 'record:\n  "*":\n    read: true\n',
      format: 'yaml',
      author: account.email,
      authorAccountId: account.id,
    },
  });
  await prisma.app.update({
    where: { id: app.id },
    data: { activePermissionVersionId: version.id },
  });
  expect(
    (
      await prisma.app.findUnique({
        where: { id: app.id },
        include: { activePermissionVersion: true },
      })
    )?.activePermissionVersion?.version,
  ).toBe(1);
  await expect(
    prisma.permissionVersion.create({
      data: { appId: app.id, version: 1, source: '{}', format: 'json', author: 'x' },
    }),
  ).rejects.toThrow();

  const key = await prisma.apiKey.create({
    data: { appId: app.id, name: 'ci', prefix: 'hs_ab12', keyHash: 'k1' },
  });
  expect(
    (await prisma.apiKey.update({ where: { id: key.id }, data: { revokedAt: new Date() } }))
      .revokedAt,
  ).toBeInstanceOf(Date);

  const audit = await prisma.auditEvent.create({
    data: {
      appId: app.id,
      accountId: account.id,
      actor: account.email,
      action: 'app.create',
      details: { name: 'Chat' },
    },
  });
  expect(typeof audit.id).toBe('bigint');

  const minute = new Date('2026-11-27T12:00:00Z');
  await prisma.usageSample.create({
    data: { appId: app.id, minute, peakConnections: 3, messagesIn: 10n, messagesOut: 20n },
  });
  const sample = await prisma.usageSample.update({
    where: { appId_minute: { appId: app.id, minute } },
    data: { messagesIn: { increment: 5n } },
  });
  expect(sample.messagesIn).toBe(15n);

  await prisma.record.create({
    data: { appId: app.id, name: 'user/ann', version: 1, data: { a: 1 } },
  });
  const record = await prisma.record.update({
    where: { appId_name: { appId: app.id, name: 'user/ann' } },
    data: { version: 2, data: { a: 2, nested: { b: [true, null] } } },
  });
  expect(record).toMatchObject({ version: 2, data: { a: 2, nested: { b: [true, null] } } });

  // Deletes: the single rows first, then the app and account cascade.
  await prisma.record.delete({ where: { appId_name: { appId: app.id, name: 'user/ann' } } });
  await prisma.apiKey.delete({ where: { id: key.id } });
  await prisma.appUser.delete({ where: { id: user.id } });
  await prisma.session.delete({ where: { id: session.id } });
  await prisma.accountToken.delete({ where: { id: token.id } });
  await prisma.usageSample.delete({ where: { appId_minute: { appId: app.id, minute } } });
  await prisma.app.delete({ where: { id: app.id } });
  expect(await prisma.appAuthSettings.count()).toBe(0);
  expect(await prisma.permissionVersion.count()).toBe(0);
  // The audit trail outlives the app it describes.
  expect((await prisma.auditEvent.findUnique({ where: { id: audit.id } }))?.appId).toBeNull();
  await prisma.auditEvent.delete({ where: { id: audit.id } });
  await prisma.account.delete({ where: { id: account.id } });
  expect(await prisma.account.count()).toBe(0);
}

describe('every model on Postgres', () => {
  let testDb: TestDatabase;
  let db: Database;
  beforeAll(async () => {
    testDb = await createTestDatabase('crud');
    db = await openDatabase({ kind: 'postgres', url: testDb.url });
    await db.migrate();
  });
  afterAll(async () => {
    await db?.close();
    await testDb?.drop();
  });

  it('creates, reads, updates and deletes', async () => {
    await exerciseEveryModel(db.prisma);
  });
});

describe('every model on PGlite', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'hs-pglite-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('creates, reads, updates and deletes, and keeps data across a reopen', async () => {
    const first = await openDatabase({ kind: 'pglite', dataDir: dir });
    try {
      expect((await first.migrate()).applied.length).toBeGreaterThan(0);
      await exerciseEveryModel(first.prisma);
      await first.prisma.account.create({ data: { email: 'kept@example.com', passwordHash: 'h' } });
    } finally {
      await first.close();
    }
    const second = await openDatabase({ kind: 'pglite', dataDir: dir });
    try {
      expect((await second.migrate()).applied).toEqual([]);
      expect(
        (await second.prisma.account.findUnique({ where: { email: 'kept@example.com' } }))?.email,
      ).toBe('kept@example.com');
    } finally {
      await second.close();
    }
  });

  it('refuses a second process on the same data directory', async () => {
    const { lockDataDir } = await import('../src/data-dir-lock.ts');
    const { writeFile } = await import('node:fs/promises');
    // A live process other than this one (our parent) holds the lock.
    await writeFile(path.join(dir, 'hubstream.pid'), String(process.ppid));
    await expect(lockDataDir(dir)).rejects.toThrow(/in use by another Hubstream process/);
    // A stale lock left by a dead process is taken over.
    await writeFile(path.join(dir, 'hubstream.pid'), '999999999');
    const unlock = await lockDataDir(dir);
    await unlock();
  });
});
