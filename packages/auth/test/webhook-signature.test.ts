import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { isPrivateAddress, sign } from '../src/index.ts';

// The pieces of the webhook client a tenant's server and the control plane
// rely on; the whole login through a webhook runs in apps/realtime's
// auth*.int.test.ts.

describe('sign', () => {
  it('is t=<seconds>,v1=<hex HMAC-SHA256 of "t.body"> with the app secret', () => {
    const body = '{"authData":{"token":"x"}}';
    const header = sign('secret-1', body, 1_700_000_000);
    const mac = createHmac('sha256', 'secret-1').update(`1700000000.${body}`).digest('hex');
    expect(header).toBe(`t=1700000000,v1=${mac}`);
    expect(sign('secret-2', body, 1_700_000_000)).not.toBe(header);
    expect(sign('secret-1', `${body} `, 1_700_000_000)).not.toBe(header);
  });
});

describe('isPrivateAddress', () => {
  it('refuses loopback, private, link-local and unspecified addresses, mapped IPv4 too', () => {
    for (const address of [
      '127.0.0.1',
      '10.1.2.3',
      '172.16.0.1',
      '192.168.1.1',
      '169.254.169.254',
      '0.0.0.0',
      '::1',
      '::',
      'fe80::1',
      'fd00::1',
      '::ffff:127.0.0.1',
      'not-an-address',
    ]) {
      expect(isPrivateAddress(address), address).toBe(true);
    }
  });

  it('lets public addresses through', () => {
    for (const address of ['93.184.216.34', '1.1.1.1', '2606:4700:4700::1111', '::ffff:8.8.8.8']) {
      expect(isPrivateAddress(address), address).toBe(false);
    }
  });
});
