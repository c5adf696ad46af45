import type { JobDefinition } from '@hubstream/cluster';
import { jobHandler, persistRecordsContract } from '@hubstream/jobs';
import { persistRecords, type RecordPersistence } from '@hubstream/records';

// The one job a benchmark's clustered node needs run in its own process:
// the persistence batches of records written to Redis (a cluster's worker
// runs them elsewhere). Its contract comes from @hubstream/jobs and its
// work from @hubstream/records, as the worker's handler does; the bench
// builds no mailer or usage ledger it never uses.

export function persistRecordsDefinitions(persistence: RecordPersistence): JobDefinition[] {
  return [
    jobHandler(persistRecordsContract, async (payload) => {
      await persistRecords(persistence, payload.records);
    }),
  ];
}
