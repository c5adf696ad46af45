import { describe, expect, it } from 'vitest';
import { confirmsEmail, describeUserAgent } from '../src/lib/account.ts';

// The Account page's session names and the delete dialog's confirmation.

describe('describeUserAgent', () => {
  it.each([
    [
      'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
      'Chrome on Linux',
    ],
    [
      'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.0.0 Safari/537.36',
      'Chrome on Linux',
    ],
    [
      'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0',
      'Edge on Windows',
    ],
    [
      'Mozilla/5.0 (Macintosh; Intel Mac OS X 14.5; rv:133.0) Gecko/20100101 Firefox/133.0',
      'Firefox on macOS',
    ],
    [
      'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1',
      'Safari on iOS',
    ],
    [
      'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36',
      'Chrome on Android',
    ],
    ['curl/8.5.0', 'curl'],
    ['node', 'Node.js'],
  ])('%s -> %s', (ua, name) => {
    expect(describeUserAgent(ua, 'cookie')).toBe(name);
  });

  it('names what it cannot read by kind, and cuts unknown long agents', () => {
    expect(describeUserAgent(null, 'cookie')).toBe('A browser');
    expect(describeUserAgent('  ', 'bearer')).toBe('A script (session token)');
    expect(describeUserAgent('my-backend/1.2', 'bearer')).toBe('my-backend/1.2');
    const long = `x${'y'.repeat(100)}`;
    const cut = describeUserAgent(long, 'bearer');
    expect(cut).toHaveLength(60);
    expect(cut.endsWith('…')).toBe(true);
  });
});

describe('confirmsEmail', () => {
  it('compares as the server does: case and surrounding spaces do not count', () => {
    expect(confirmsEmail(' Ada@Example.com ', 'ada@example.com')).toBe(true);
    expect(confirmsEmail('ada@example.co', 'ada@example.com')).toBe(false);
    expect(confirmsEmail('', 'ada@example.com')).toBe(false);
  });
});
