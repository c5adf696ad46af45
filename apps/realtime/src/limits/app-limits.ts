import type { Config } from '@hubstream/config';

// The limits one app runs under: its own values from app_limits where it
// set them, the platform defaults from the config where it did not.

export type AppLimits = {
  /** Connections open at once, across the cluster. */
  maxConnections: number;
  /** Messages per second from all the app's connections, across the cluster. */
  maxMessagesPerSecond: number;
  /** Messages per second from one connection. */
  connectionMessagesPerSecond: number;
  /** Records the permission rules may load per second, across the cluster. */
  maxCrossReferencesPerSecond: number;
  /** Names one bulk message (SUBSCRIBE, PROVIDE, NOTIFY...) may carry. */
  maxNamesPerMessage: number;
  /** Subscriptions one connection may hold, per topic (events, records, presence). */
  maxSubscriptionsPerConnection: number;
  /** Listen patterns one connection may hold, per topic (events, records). */
  maxListensPerConnection: number;
  /** RPC names one connection may provide. */
  maxProvidesPerConnection: number;
  /** RPCs one connection may have waiting for their answer. */
  maxPendingRpcsPerConnection: number;
};

/** An app_limits row as the database holds it: null means the default. */
export type OwnLimits = { [K in keyof AppLimits]: number | null };

export function defaultLimits(config: Config): AppLimits {
  return {
    maxConnections: config.APP_MAX_CONNECTIONS,
    maxMessagesPerSecond: config.APP_MAX_MESSAGES_PER_SECOND,
    connectionMessagesPerSecond: config.CONNECTION_MAX_MESSAGES_PER_SECOND,
    maxCrossReferencesPerSecond: config.APP_MAX_CROSS_REFERENCES_PER_SECOND,
    maxNamesPerMessage: config.MESSAGE_MAX_NAMES,
    maxSubscriptionsPerConnection: config.CONNECTION_MAX_SUBSCRIPTIONS,
    maxListensPerConnection: config.CONNECTION_MAX_LISTENS,
    maxProvidesPerConnection: config.CONNECTION_MAX_PROVIDES,
    maxPendingRpcsPerConnection: config.CONNECTION_MAX_PENDING_RPCS,
  };
}

export function resolveLimits(
  own: Partial<OwnLimits> | null | undefined,
  defaults: AppLimits,
): AppLimits {
  const resolved = { ...defaults };
  if (!own) return resolved;
  for (const key of Object.keys(defaults) as (keyof AppLimits)[]) {
    const value = own[key];
    if (typeof value === 'number') resolved[key] = value;
  }
  return resolved;
}
