import type { Config } from './schema.ts';

/** The control plane's public base URL, without a trailing slash. */
export function publicHttpUrl(config: Config): string {
  return (config.PUBLIC_HTTP_URL ?? `http://localhost:${config.HTTP_PORT}`).replace(/\/+$/, '');
}

/**
 * Realtime base URL as clients must use it: `wss://` whenever the configured
 * public URL is secure (https or wss), else `ws://`.
 */
export function publicRealtimeUrl(config: Config): string {
  const base = (config.PUBLIC_REALTIME_URL ?? `ws://localhost:${config.REALTIME_PORT}`).replace(
    /\/+$/,
    '',
  );
  return base.replace(/^https:\/\//, 'wss://').replace(/^http:\/\//, 'ws://');
}

/** The URL an app's clients connect to (one path segment; see ARCHITECTURE.md). */
export function appRealtimeUrl(config: Config, appId: string): string {
  return `${publicRealtimeUrl(config)}/${encodeURIComponent(appId)}`;
}
