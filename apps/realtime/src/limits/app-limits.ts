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
};

/** An app_limits row as the database holds it: null means the default. */
export type OwnLimits = { [K in keyof AppLimits]: number | null };

export function defaultLimits(config: Config): AppLimits {
  return {
    maxConnections: config.APP_MAX_CONNECTIONS,
    maxMessagesPerSecond: config.APP_MAX_MESSAGES_PER_SECOND,
    connectionMessagesPerSecond: config.CONNECTION_MAX_MESSAGES_PER_SECOND,
    maxCrossReferencesPerSecond: config.APP_MAX_CROSS_REFERENCES_PER_SECOND,
  };
}

export function resolveLimits(own: OwnLimits | null | undefined, defaults: AppLimits): AppLimits {
  return {
    maxConnections: own?.maxConnections ?? defaults.maxConnections,
    maxMessagesPerSecond: own?.maxMessagesPerSecond ?? defaults.maxMessagesPerSecond,
    connectionMessagesPerSecond:
      own?.connectionMessagesPerSecond ?? defaults.connectionMessagesPerSecond,
    maxCrossReferencesPerSecond:
      own?.maxCrossReferencesPerSecond ?? defaults.maxCrossReferencesPerSecond,
  };
}
