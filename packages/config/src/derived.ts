import type { Config } from './schema.ts';

/**
 * Whether the servers themselves speak TLS: a certificate is configured, or a
 * self-signed one is made (`pnpm start` resolves TLS_SELF_SIGNED=auto to true
 * or false before anything reads this).
 */
export function tlsEnabled(config: Config): boolean {
  return config.TLS_CERT_FILE !== undefined || config.TLS_SELF_SIGNED === 'true';
}

/**
 * The proxies whose X-Forwarded-* headers are believed, as fastify's
 * `trustProxy` takes them; false (believe no one) when TRUSTED_PROXIES is unset.
 */
export function trustedProxies(config: Config): string[] | false {
  const list = (config.TRUSTED_PROXIES ?? '')
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
  return list.length > 0 ? list : false;
}

/** The control plane's public base URL, without a trailing slash. */
export function publicHttpUrl(config: Config): string {
  const scheme = tlsEnabled(config) ? 'https' : 'http';
  return (config.PUBLIC_HTTP_URL ?? `${scheme}://localhost:${config.HTTP_PORT}`).replace(
    /\/+$/,
    '',
  );
}

/**
 * Realtime base URL as clients must use it: `wss://` whenever the servers
 * speak TLS or the configured public URL is secure (https or wss), else `ws://`.
 */
export function publicRealtimeUrl(config: Config): string {
  const base = (config.PUBLIC_REALTIME_URL ?? `ws://localhost:${config.REALTIME_PORT}`).replace(
    /\/+$/,
    '',
  );
  const url = base.replace(/^https:\/\//, 'wss://').replace(/^http:\/\//, 'ws://');
  return tlsEnabled(config) ? url.replace(/^ws:\/\//, 'wss://') : url;
}

/** The URL an app's clients connect to (one path segment; see ARCHITECTURE.md). */
export function appRealtimeUrl(config: Config, appId: string): string {
  return `${publicRealtimeUrl(config)}/${encodeURIComponent(appId)}`;
}
