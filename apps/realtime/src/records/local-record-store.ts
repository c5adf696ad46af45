import type { PrismaClient } from '@hubstream/db';
import type { Logger } from '../core/types.ts';
import type { RecordStore, StoredRecord } from './record-store.ts';

/** Records in this process, durable in Postgres. Filled in by the records work. */
export class LocalRecordStore implements RecordStore {
  readonly #prisma: PrismaClient;
  readonly #log: Logger;

  constructor(prisma: PrismaClient, log: Logger) {
    this.#prisma = prisma;
    this.#log = log;
  }

  async get(appId: string, name: string): Promise<StoredRecord | null> {
    const row = await this.#prisma.record.findUnique({ where: { appId_name: { appId, name } } });
    return row ? { version: row.version, data: row.data } : null;
  }

  async close(): Promise<void> {
    void this.#log;
  }
}
