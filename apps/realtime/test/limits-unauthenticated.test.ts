import { describe, expect, it } from 'vitest';
import { addressKey, UnauthenticatedConnections } from '../src/limits/unauthenticated.ts';

describe('connections not logged in', () => {
  it('caps them per app and per address, and frees a place once, on release', () => {
    const caps = { perApp: 3, perAddress: 2 };
    const guard = new UnauthenticatedConnections(() => caps);
    const a1 = guard.enter('app', '10.0.0.1');
    const a2 = guard.enter('app', '10.0.0.1');
    expect(guard.enter('app', '10.0.0.1')).toBe('unauthenticated_per_address');
    // Another app from the same address: the address's cap still holds.
    expect(guard.enter('other', '10.0.0.1')).toBe('unauthenticated_per_address');
    const b1 = guard.enter('app', '10.0.0.2');
    expect(guard.enter('app', '10.0.0.3')).toBe('unauthenticated_per_app');
    expect(guard.enter('other', '10.0.0.3')).not.toBeTypeOf('string');
    expect(guard.ofApp('app')).toBe(3);

    if (typeof a1 === 'string' || typeof a2 === 'string' || typeof b1 === 'string')
      throw new Error('admitted above');
    a1.release();
    a1.release(); // idempotent
    expect(guard.ofApp('app')).toBe(2);
    expect(guard.ofAddress('10.0.0.1')).toBe(1);
    expect(guard.enter('app', '10.0.0.3')).not.toBeTypeOf('string');
    // Settings are read on each call.
    caps.perApp = 10;
    expect(guard.enter('app', '10.0.0.4')).not.toBeTypeOf('string');
  });

  it('counts IPv6 clients by their /64 and IPv4-mapped ones as IPv4', () => {
    expect(addressKey('203.0.113.7')).toBe('203.0.113.7');
    expect(addressKey('::ffff:203.0.113.7')).toBe('203.0.113.7');
    expect(addressKey('2001:db8:1:2:3:4:5:6')).toBe('2001:db8:1:2::/64');
    expect(addressKey('2001:db8:1:2::9')).toBe(addressKey('2001:0db8:0001:0002:ffff::1'));
    expect(addressKey('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(addressKey('::1')).toBe('0:0:0:0::/64');
  });
});
