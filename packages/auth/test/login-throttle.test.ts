import { LocalRateLimiter } from '@hubstream/cluster';
import { describe, expect, it } from 'vitest';
import { addressKey, reserveLogin } from '../src/login-throttle.ts';

// The throttle's buckets on the in-process rate limiter (the Redis one runs
// the same contract, and auth-hardening.int.test.ts runs this across nodes).

const settings = { windowMs: 60_000, perEmailAndAddress: 3, perAddress: 5, perEmail: 7 };

describe('addressKey', () => {
  it('counts IPv4 as is, IPv4-mapped IPv6 as IPv4, and IPv6 by its /64', () => {
    expect(addressKey('203.0.113.9')).toBe('203.0.113.9');
    expect(addressKey('::ffff:203.0.113.9')).toBe('203.0.113.9');
    expect(addressKey('2001:db8:1:2:3:4:5:6')).toBe('2001:db8:1:2::/64');
    expect(addressKey('2001:db8:1:2::99')).toBe('2001:db8:1:2::/64');
    expect(addressKey('2001:0db8:0001:0002:ffff::1')).toBe('2001:db8:1:2::/64');
    expect(addressKey('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(addressKey('::1')).toBe('0:0:0:0::/64');
  });
});

describe('reserveLogin', () => {
  it('refuses a pair after its failures, not the same email from elsewhere, and forgets successes', async () => {
    const limiter = new LocalRateLimiter();
    const fail = () => reserveLogin(limiter, settings, 'app', 'ann@example.com', '198.51.100.1');
    for (let i = 0; i < 3; i++) expect((await fail()).ok).toBe(true);
    const refused = await fail();
    expect(refused).toMatchObject({ ok: false });
    expect(refused.ok === false && refused.retryAfterMs).toBeGreaterThan(0);

    const elsewhere = await reserveLogin(
      limiter,
      settings,
      'app',
      'ann@example.com',
      '198.51.100.2',
    );
    expect(elsewhere.ok).toBe(true);
    // A success gives its reservation back: logging in often never locks anyone out.
    for (let i = 0; i < 10; i++) {
      const ok = await reserveLogin(limiter, settings, 'app', 'bob@example.com', '198.51.100.3');
      expect(ok.ok).toBe(true);
      if (ok.ok) await ok.succeeded();
    }
    // Other apps are apart.
    expect(
      (await reserveLogin(limiter, settings, 'other', 'ann@example.com', '198.51.100.1')).ok,
    ).toBe(true);
  });

  it('caps one address across emails, and one email across addresses', async () => {
    const limiter = new LocalRateLimiter();
    for (let i = 0; i < 5; i++)
      expect((await reserveLogin(limiter, settings, 'app', `u${i}@x.org`, '192.0.2.1')).ok).toBe(
        true,
      );
    expect((await reserveLogin(limiter, settings, 'app', 'u9@x.org', '192.0.2.1')).ok).toBe(false);
    // The refused attempt took nothing from the email's buckets.
    expect((await reserveLogin(limiter, settings, 'app', 'u9@x.org', '192.0.2.2')).ok).toBe(true);

    // Seven failures for one email from seven addresses fill its own bucket.
    const other = new LocalRateLimiter();
    for (let i = 0; i < 7; i++)
      expect(
        (await reserveLogin(other, settings, 'app', 'target@x.org', `192.0.2.${10 + i}`)).ok,
      ).toBe(true);
    expect((await reserveLogin(other, settings, 'app', 'target@x.org', '192.0.2.50')).ok).toBe(
      false,
    );
  });
});
