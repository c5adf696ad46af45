import { describe, expect, it } from 'vitest';
import {
  appRealtimeUrl,
  ConfigError,
  loadConfig,
  publicHttpUrl,
  publicRealtimeUrl,
} from '../src/index.ts';

describe('loadConfig', () => {
  it('applies the documented defaults on an empty environment', () => {
    const config = loadConfig({});
    expect(config.HTTP_PORT).toBe(3000);
    expect(config.REALTIME_PORT).toBe(6020);
    expect(config.DATA_DIR).toBe('./.hubstream');
    expect(config.LOG_LEVEL).toBe('info');
    expect(config.HTTP_HOST).toBe('127.0.0.1');
    expect(config.DATABASE_URL).toBeUndefined();
    expect(config.REDIS_URL).toBeUndefined();
  });

  it('converts numbers and keeps only known variables', () => {
    const config = loadConfig({ HTTP_PORT: '8080', REALTIME_PORT: ' 9000 ', PATH: '/usr/bin' });
    expect(config.HTTP_PORT).toBe(8080);
    expect(config.REALTIME_PORT).toBe(9000);
    expect(Object.keys(config)).not.toContain('PATH');
  });

  it('treats an empty variable as unset', () => {
    expect(loadConfig({ DATABASE_URL: '', HTTP_PORT: '' }).HTTP_PORT).toBe(3000);
  });

  it('returns a frozen object', () => {
    const config = loadConfig({});
    expect(Object.isFrozen(config)).toBe(true);
    expect(() => {
      (config as { HTTP_PORT: number }).HTTP_PORT = 1;
    }).toThrow(TypeError);
  });

  it('reports every invalid variable at once, by name, with what was expected', () => {
    let error: unknown;
    try {
      loadConfig({
        HTTP_PORT: 'abc',
        REALTIME_PORT: '70000',
        LOG_LEVEL: 'loud',
        DATABASE_URL: 'mysql://x',
        REDIS_URL: 'redis://127.0.0.1:6379',
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems;
    expect(problems.map((p) => p.variable).sort()).toEqual([
      'DATABASE_URL',
      'HTTP_PORT',
      'LOG_LEVEL',
      'REALTIME_PORT',
    ]);
    const message = (error as ConfigError).message;
    expect(message).toContain('HTTP_PORT: must be a port number from 0 to 65535, got "abc"');
    expect(message).toContain(
      'LOG_LEVEL: must be one of fatal, error, warn, info, debug, trace, silent',
    );
    expect(message).toContain(
      'DATABASE_URL: must be a URL starting with postgres:// or postgresql://',
    );
  });

  it('refuses a node dead-after time that a live node could miss with its heartbeat', () => {
    expect(() =>
      loadConfig({ NODE_HEARTBEAT_INTERVAL_MS: '2000', NODE_DEAD_AFTER_MS: '2000' }),
    ).toThrow(
      /NODE_DEAD_AFTER_MS: must be more than NODE_HEARTBEAT_INTERVAL_MS \(2000\), got 2000/,
    );
    const config = loadConfig({});
    expect([config.NODE_HEARTBEAT_INTERVAL_MS, config.NODE_DEAD_AFTER_MS]).toEqual([1000, 5000]);
  });
});

describe('public URLs', () => {
  it('derives local URLs from the ports', () => {
    const config = loadConfig({ HTTP_PORT: '3100', REALTIME_PORT: '6100' });
    expect(publicHttpUrl(config)).toBe('http://localhost:3100');
    expect(appRealtimeUrl(config, 'app1')).toBe('ws://localhost:6100/app1');
  });

  it('uses wss:// when the public realtime URL is secure', () => {
    expect(publicRealtimeUrl(loadConfig({ PUBLIC_REALTIME_URL: 'https://rt.example.com/' }))).toBe(
      'wss://rt.example.com',
    );
    expect(publicRealtimeUrl(loadConfig({ PUBLIC_REALTIME_URL: 'wss://rt.example.com' }))).toBe(
      'wss://rt.example.com',
    );
    expect(publicRealtimeUrl(loadConfig({ PUBLIC_REALTIME_URL: 'http://rt.local' }))).toBe(
      'ws://rt.local',
    );
  });
});
