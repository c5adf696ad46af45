/** A record as stored: version -1 never appears here (absent is null). */
export type StoredRecord = { version: number; data: unknown };

/**
 * Where records live, per app. The local implementation keeps the hot copy
 * in memory and the durable copy in Postgres; the Redis one (cluster issue)
 * keeps the hot copy in Redis behind a compare-and-set.
 *
 * Filled in by the records work; see records/record-handler.ts.
 */
export interface RecordStore {
  get(appId: string, name: string): Promise<StoredRecord | null>;
  close(): Promise<void>;
}
