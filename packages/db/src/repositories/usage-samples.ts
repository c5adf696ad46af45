import type { PrismaClient } from '../generated/prisma/client.ts';

// Usage per app per minute (table usage_samples), as the worker's usage
// rollup job writes it from the sum of the minute's reports.

/** One minute's totals of an app. */
export type UsageTotals = {
  peakConnections: number;
  messagesIn: number;
  messagesOut: number;
  denied: number;
  rateLimited: number;
};

/**
 * Stores the totals of `appId` for `minute` (ISO timestamp), keeping per
 * column the larger of the stored and the new value, so a stale or replayed
 * sum never lowers it. Usage of an app deleted meanwhile is dropped (no row
 * would satisfy the foreign key): then it resolves to false.
 */
export async function writeUsageSample(
  prisma: PrismaClient,
  appId: string,
  minute: string,
  t: UsageTotals,
): Promise<boolean> {
  const rows = await prisma.$executeRaw`
    INSERT INTO usage_samples
      (app_id, minute, peak_connections, messages_in, messages_out, denied, rate_limited)
    SELECT ${appId}::text, ${minute}::timestamptz, ${t.peakConnections}::int,
      ${t.messagesIn}::bigint, ${t.messagesOut}::bigint, ${t.denied}::bigint,
      ${t.rateLimited}::bigint
    WHERE EXISTS (SELECT 1 FROM apps WHERE id = ${appId}::text)
    ON CONFLICT (app_id, minute) DO UPDATE SET
      peak_connections = GREATEST(usage_samples.peak_connections, EXCLUDED.peak_connections),
      messages_in = GREATEST(usage_samples.messages_in, EXCLUDED.messages_in),
      messages_out = GREATEST(usage_samples.messages_out, EXCLUDED.messages_out),
      denied = GREATEST(usage_samples.denied, EXCLUDED.denied),
      rate_limited = GREATEST(usage_samples.rate_limited, EXCLUDED.rate_limited)`;
  return rows > 0;
}
