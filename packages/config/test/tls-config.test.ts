import { describe, expect, it } from 'vitest';
import {
  appRealtimeUrl,
  ConfigError,
  loadConfig,
  publicHttpUrl,
  publicRealtimeUrl,
  tlsEnabled,
  trustedProxies,
} from '../src/index.ts';

function problemsOf(env: Record<string, string>) {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('loadConfig accepted the environment');
}

describe('TLS and proxy settings', () => {
  it('defaults to no TLS, self-signed auto, no proxy, no trusted proxies, no plaintext opt-in', () => {
    const config = loadConfig({});
    expect(config.TLS_CERT_FILE).toBeUndefined();
    expect(config.TLS_SELF_SIGNED).toBe('auto');
    expect(config.TLS_TERMINATED_BY_PROXY).toBe(false);
    expect(config.ALLOW_PLAINTEXT).toBe(false);
    expect(config.TLS_RELOAD_INTERVAL_MS).toBe(5000);
    expect(tlsEnabled(config)).toBe(false);
    expect(trustedProxies(config)).toBe(false);
  });

  it('wants the certificate and its key together, naming the missing one', () => {
    expect(problemsOf({ TLS_CERT_FILE: '/etc/tls/cert.pem' })).toEqual([
      expect.objectContaining({ variable: 'TLS_KEY_FILE' }),
    ]);
    const [problem] = problemsOf({ TLS_KEY_FILE: '/etc/tls/key.pem' });
    expect(problem?.variable).toBe('TLS_CERT_FILE');
    expect(problem?.message).toContain('TLS_KEY_FILE');
    const config = loadConfig({ TLS_CERT_FILE: '/c.pem', TLS_KEY_FILE: '/k.pem' });
    expect(tlsEnabled(config)).toBe(true);
  });

  it('parses TRUSTED_PROXIES into the list fastify trusts, and rejects what is not an address', () => {
    const config = loadConfig({ TRUSTED_PROXIES: '10.0.0.0/8, 192.168.1.7,::1,fd00::/8,loopback' });
    expect(trustedProxies(config)).toEqual([
      '10.0.0.0/8',
      '192.168.1.7',
      '::1',
      'fd00::/8',
      'loopback',
    ]);
    expect(problemsOf({ TRUSTED_PROXIES: '10.0.0.0/33' })[0]?.variable).toBe('TRUSTED_PROXIES');
    expect(problemsOf({ TRUSTED_PROXIES: '999.1.1.1' })[0]?.message).toContain('999.1.1.1');
    expect(problemsOf({ TRUSTED_PROXIES: 'proxy.example.com' })[0]?.variable).toBe(
      'TRUSTED_PROXIES',
    );
  });

  it('rejects a TLS_SELF_SIGNED that is not auto, true or false', () => {
    expect(problemsOf({ TLS_SELF_SIGNED: 'yes' })[0]?.message).toContain('auto, true, false');
  });

  it('gives wss:// and https:// URLs whenever the servers speak TLS', () => {
    const tls = { TLS_CERT_FILE: '/c.pem', TLS_KEY_FILE: '/k.pem', REALTIME_PORT: '7000' };
    expect(appRealtimeUrl(loadConfig(tls), 'a1')).toBe('wss://localhost:7000/a1');
    expect(publicHttpUrl(loadConfig({ ...tls, HTTP_PORT: '8443' }))).toBe('https://localhost:8443');
    // A ws:// public URL cannot be right when the node only answers TLS.
    expect(publicRealtimeUrl(loadConfig({ ...tls, PUBLIC_REALTIME_URL: 'ws://hub.test' }))).toBe(
      'wss://hub.test',
    );
    expect(appRealtimeUrl(loadConfig({ TLS_SELF_SIGNED: 'true' }), 'a1')).toBe(
      'wss://localhost:6020/a1',
    );
  });

  it('gives wss:// behind a proxy whose public URL is https, and ws:// otherwise', () => {
    const proxied = loadConfig({
      TLS_TERMINATED_BY_PROXY: 'true',
      PUBLIC_REALTIME_URL: 'https://rt.example.com/',
    });
    expect(appRealtimeUrl(proxied, 'a1')).toBe('wss://rt.example.com/a1');
    expect(appRealtimeUrl(loadConfig({}), 'a1')).toBe('ws://localhost:6020/a1');
    expect(appRealtimeUrl(loadConfig({ TLS_SELF_SIGNED: 'auto' }), 'a1')).toBe(
      'ws://localhost:6020/a1',
    );
  });
});
