import type { PrismaClient, SqlSession } from '@hubstream/db';
import { API_KEY_PREFIX } from '../../context.ts';
import { audit } from '../../lib/audit.ts';
import { randomId } from '../../lib/ids.ts';
import { randomToken, sha256 } from '../../lib/secrets.ts';
import type { Principal } from '../../plugins/auth.ts';
import { prefixEnd } from './prefix.ts';

export type SummaryRow = {
  name: string;
  version: number;
  updated_at: Date | string;
  is_list: boolean;
};

/**
 * Up to `limit` of the app's stored records in name order: those starting
 * with `prefix` ('' for all), after the name `after` when given.
 */
export async function listRecordRows(
  sql: SqlSession,
  appId: string,
  query: { prefix: string; after?: string | undefined; limit: number },
): Promise<SummaryRow[]> {
  // Names compare in C order (the column's collation): the names with
  // the prefix are the range [prefix, prefixEnd), one index range scan.
  const params: unknown[] = [appId];
  const where = ['app_id = $1'];
  if (query.prefix !== '') {
    params.push(query.prefix);
    where.push(`name >= $${params.length}`);
    const end = prefixEnd(query.prefix);
    if (end !== null) {
      params.push(end);
      where.push(`name < $${params.length}`);
    }
  }
  if (query.after !== undefined) {
    params.push(query.after);
    where.push(`name > $${params.length}`);
  }
  params.push(query.limit);
  return sql.query<SummaryRow>(
    `SELECT name, version, updated_at, jsonb_typeof(data) = 'array' AS is_list
       FROM records WHERE ${where.join(' AND ')}
       ORDER BY name LIMIT $${params.length}`,
    params,
  );
}

/** Audits a record the data browser created, updated or deleted, with its version. */
export function auditRecord(
  prisma: PrismaClient,
  appId: string,
  principal: Principal,
  change: 'created' | 'updated' | 'deleted',
  name: string,
  version: number,
) {
  return audit(prisma, {
    appId,
    principal,
    action: `record.${change}`,
    target: name,
    details: { version },
  });
}

/** The user id the app's rules see for edits made in the dashboard. */
export const DASHBOARD_USER_ID = 'hubstream:dashboard';
/** Marks the keys this process makes for itself: never listed, never shown. */
export const CONSOLE_SCOPE = 'console';
const CONSOLE_KEY_NAME = 'Dashboard data browser';

/**
 * A new API key of the app for the data browser and the console
 * (realtime-data.ts): the data scope and CONSOLE_SCOPE, acting as
 * DASHBOARD_USER_ID. Such keys made before `deleteBefore` are deleted.
 * Resolves to the key in clear; only its SHA-256 is stored.
 */
export async function issueConsoleKey(
  prisma: PrismaClient,
  appId: string,
  deleteBefore: Date,
): Promise<string> {
  const prefix = `${API_KEY_PREFIX}${randomId(8)}`;
  const key = randomToken(`${prefix}_`);
  await prisma.apiKey.create({
    data: {
      appId,
      name: CONSOLE_KEY_NAME,
      prefix,
      keyHash: sha256(key),
      scopes: ['data', CONSOLE_SCOPE],
      userId: DASHBOARD_USER_ID,
    },
  });
  await prisma.apiKey.deleteMany({
    where: { appId, scopes: { has: CONSOLE_SCOPE }, createdAt: { lt: deleteBefore } },
  });
  return key;
}
