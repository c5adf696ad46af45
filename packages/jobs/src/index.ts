import type { JobContract } from './contract.ts';
import { persistRecordsContract } from './persist-records.ts';
import { purgeAppContract } from './purge-app.ts';
import { sendEmailContract } from './send-email.ts';
import { usageRollupContract } from './usage-rollup.ts';

// The job contracts (names, payload schemas, retries) that the enqueuing
// processes (control plane, realtime nodes) and the worker share. Handlers
// live in apps/worker only.

export { AppIdSchema } from './app-id.ts';
export {
  defineContract,
  enqueueJob,
  enqueueOnly,
  type JobContract,
  JobNotRunHereError,
  jobHandler,
} from './contract.ts';
export {
  MAX_RECORDS_PER_BATCH,
  PERSIST_RECORDS_JOB,
  type PersistRecords,
  PersistRecordsPayload,
  persistRecordsContract,
  RecordRef,
} from './persist-records.ts';
export { PURGE_APP_JOB, type PurgeApp, PurgeAppPayload, purgeAppContract } from './purge-app.ts';
export {
  SEND_EMAIL_JOB,
  type SendEmail,
  SendEmailPayload,
  sendEmailContract,
} from './send-email.ts';
export {
  USAGE_ROLLUP_JOB,
  type UsageRollup,
  UsageRollupPayload,
  usageRollupContract,
} from './usage-rollup.ts';

/** Every job there is; the worker defines a handler for each. */
export const JOB_CONTRACTS: readonly JobContract[] = [
  sendEmailContract,
  usageRollupContract,
  purgeAppContract,
  persistRecordsContract,
];
