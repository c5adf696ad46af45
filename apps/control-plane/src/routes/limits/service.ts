import type { Config } from '@hubstream/config';
import type { AppLimits, PrismaClient } from '@hubstream/db';
import type { AppChanges } from '../../lib/app-changes.ts';
import { audit } from '../../lib/audit.ts';
import type { Principal } from '../../plugins/auth.ts';
import { LIMIT_MAXIMA, LIMIT_NAMES, type LimitName } from './schemas.ts';

export type OwnLimits = Record<LimitName, number | null>;

const defaultsOf = (config: Config): Record<LimitName, number> => ({
  maxConnections: config.APP_MAX_CONNECTIONS,
  maxMessagesPerSecond: config.APP_MAX_MESSAGES_PER_SECOND,
  connectionMessagesPerSecond: config.CONNECTION_MAX_MESSAGES_PER_SECOND,
  maxCrossReferencesPerSecond: config.APP_MAX_CROSS_REFERENCES_PER_SECOND,
  maxNamesPerMessage: config.MESSAGE_MAX_NAMES,
  maxSubscriptionsPerConnection: config.CONNECTION_MAX_SUBSCRIPTIONS,
  maxListensPerConnection: config.CONNECTION_MAX_LISTENS,
  maxProvidesPerConnection: config.CONNECTION_MAX_PROVIDES,
  maxPendingRpcsPerConnection: config.CONNECTION_MAX_PENDING_RPCS,
});

export function limitsView(row: AppLimits | null, config: Config) {
  const defaults = defaultsOf(config);
  const own = Object.fromEntries(
    LIMIT_NAMES.map((name) => [name, row?.[name] ?? null]),
  ) as OwnLimits;
  const effective = { ...defaults };
  for (const name of LIMIT_NAMES) effective[name] = own[name] ?? defaults[name];
  return {
    ...own,
    effective,
    defaults,
    maxima: { ...LIMIT_MAXIMA },
    updatedAt: row ? row.updatedAt.toISOString() : null,
  };
}

/** The app's limits as GET /v1/apps/:id/limits shows them. */
export async function readLimits(prisma: PrismaClient, config: Config, appId: string) {
  const row = await prisma.appLimits.findUnique({ where: { appId } });
  return limitsView(row, config);
}

/** Sets the limits given (null: back to the default), audited and announced with the change. */
export async function saveLimits(
  appChanges: AppChanges,
  config: Config,
  appId: string,
  principal: Principal,
  changes: Partial<OwnLimits>,
) {
  const saved = await appChanges.change(appId, 'limits', async (tx) => {
    const row = await tx.appLimits.upsert({
      where: { appId },
      create: { appId, ...changes },
      update: changes,
    });
    await audit(tx, { appId, principal, action: 'limits.updated', details: { changes } });
    return row;
  });
  return limitsView(saved, config);
}
