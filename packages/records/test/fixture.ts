import { randomBytes } from 'node:crypto';
import type { JobDefinition } from '@hubstream/cluster';
import { type Database, openDatabase } from '@hubstream/db';
import { createTestDatabase } from '@hubstream/db/testing';
import { jobHandler, persistRecordsContract } from '@hubstream/jobs';
import { persistRecords, type RecordPersistence } from '../src/index.ts';

// What the record store tests share: a database of their own (migrated),
// apps to write records to, and the persist-records job as the worker runs
// it (apps/worker persist-records.job.ts: the contract, and persistRecords).

export type RecordsDatabase = {
  db: Database;
  url: string;
  /** A new app (and its account): records need one for their foreign key. */
  createApp(): Promise<string>;
  close(): Promise<void>;
};

export async function openRecordsDatabase(label: string): Promise<RecordsDatabase> {
  const testDb = await createTestDatabase(label);
  const db = await openDatabase({ kind: 'postgres', url: testDb.url, poolSize: 10 });
  await db.migrate();
  return {
    db,
    url: testDb.url,
    createApp: () => createTestApp(db),
    async close() {
      await db.close();
      await testDb.drop();
    },
  };
}

/** A new app (and its account) in `db`: records need one for their foreign key. */
export async function createTestApp(db: Database): Promise<string> {
  const id = randomBytes(6).toString('hex');
  const account = await db.prisma.account.create({
    data: { email: `${id}@example.com`, passwordHash: 'x' },
  });
  await db.prisma.app.create({ data: { id, accountId: account.id, name: 'test app' } });
  return id;
}

/** The persist-records job, run in this process. */
export function persistRecordsJob(persistence: RecordPersistence): JobDefinition {
  return jobHandler(persistRecordsContract, async (payload) => {
    await persistRecords(persistence, payload.records);
  });
}
