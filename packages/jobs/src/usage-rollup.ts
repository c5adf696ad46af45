import Type, { type Static } from 'typebox';
import { AppIdSchema } from './app-id.ts';
import { defineContract } from './contract.ts';

export const USAGE_ROLLUP_JOB = 'usage-rollup';

const Count = Type.Integer({ minimum: 0 });

export const UsageRollupPayload = Type.Object(
  {
    /** Unique per report; a retry of the job carries the same id. */
    reportId: Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' }),
    nodeId: Type.String({ minLength: 1, maxLength: 200 }),
    appId: AppIdSchema,
    /** Start of the minute the counts belong to (ISO 8601, UTC). */
    minute: Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:00\\.000Z$' }),
    /** Most connections open at once on the node during the report's window. */
    peakConnections: Count,
    messagesIn: Count,
    messagesOut: Count,
    denied: Count,
    rateLimited: Count,
  },
  { additionalProperties: false },
);

export type UsageRollup = Static<typeof UsageRollupPayload>;

/** One realtime node's usage of one app over part of a minute; enqueued by realtime nodes. */
export const usageRollupContract = defineContract({
  name: USAGE_ROLLUP_JOB,
  payload: UsageRollupPayload,
  attempts: 8,
  backoffMs: 1_000,
});
