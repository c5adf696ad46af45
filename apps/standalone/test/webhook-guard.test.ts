import { loadConfig } from '@hubstream/config';
import { describe, expect, it } from 'vitest';
import { standaloneWebhookGuard } from '../src/standalone.ts';

// Issue 13.5: under pnpm start on loopback a webhook on the developer's own
// machine is allowed by default; on any other bind the guard stays on.

describe('WEBHOOK_ALLOW_PRIVATE_ADDRESSES under pnpm start', () => {
  it('auto allows private addresses only when both servers listen on loopback', () => {
    expect(standaloneWebhookGuard(loadConfig({}))).toBe('true');
    expect(
      standaloneWebhookGuard(loadConfig({ HTTP_HOST: 'localhost', REALTIME_HOST: '::1' })),
    ).toBe('true');
    expect(standaloneWebhookGuard(loadConfig({ REALTIME_HOST: '0.0.0.0' }))).toBe('false');
    expect(standaloneWebhookGuard(loadConfig({ HTTP_HOST: '192.168.1.20' }))).toBe('false');
  });

  it('an explicit true or false wins', () => {
    expect(standaloneWebhookGuard(loadConfig({ WEBHOOK_ALLOW_PRIVATE_ADDRESSES: 'false' }))).toBe(
      'false',
    );
    expect(
      standaloneWebhookGuard(
        loadConfig({ WEBHOOK_ALLOW_PRIVATE_ADDRESSES: 'true', REALTIME_HOST: '0.0.0.0' }),
      ),
    ).toBe('true');
  });

  it('the separate roles read auto as off', () => {
    expect(loadConfig({}).WEBHOOK_ALLOW_PRIVATE_ADDRESSES).toBe('auto');
  });
});
