import { hash } from 'node:crypto';
import { isIP } from 'node:net';
import type { RateLimiter } from '@hubstream/cluster';

// Password guessing across connections and nodes. Every email login first
// reserves one failure in three cluster-wide buckets of the app:
//
//   email + client address   small (5): one address cannot guess one account's password
//   client address           medium (50): one address cannot spray many accounts
//   email                    large (200): many addresses together cannot guess one account
//
// A full bucket refuses the login before anything is looked up or any
// password hash is verified, until its window passes. A login that succeeds
// gives its reservations back, so only failures count. The email's own
// bucket is deliberately far larger than the pair's: an attacker at one
// address fills only their pair and their address bucket, and the real user
// at another address still gets in. Only an attacker with dozens of
// addresses can fill the email's bucket; then the account is refused for
// everyone until the window passes, which is the price of capping the total
// number of guesses.

export type LoginThrottleSettings = {
  windowMs: number;
  perEmailAndAddress: number;
  perAddress: number;
  perEmail: number;
};

export const TOO_MANY_FAILED_LOGINS = 'TOO_MANY_FAILED_LOGINS';

export type Reservation =
  | {
      ok: true /** The login succeeded: it does not count as a failure. */;
      succeeded(): Promise<void>;
    }
  | { ok: false; retryAfterMs: number };

/**
 * The address as the throttle counts it: IPv4 as is (also when mapped into
 * IPv6), IPv6 by its /64, since anyone with one IPv6 address has a whole /64.
 */
export function addressKey(address: string): string {
  // Every IPv4 login (most of them) without the regex and isIP below.
  if (!address.includes(':')) return address;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return mapped[1]!;
  if (isIP(address) !== 6) return address;
  const [head = '', tail] = address.toLowerCase().split('%')[0]!.split('::');
  const left = head ? head.split(':') : [];
  const right = tail === undefined ? [] : tail ? tail.split(':') : [];
  const groups =
    tail === undefined
      ? left
      : [...left, ...Array(8 - left.length - right.length).fill('0'), ...right];
  return `${groups
    .slice(0, 4)
    .map((g) => g.replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}

// The limiter's keys hold no email in clear. crypto.hash: one call, no Hash
// object (createHash's update/digest was ~1.4 us a login, hash ~0.5 us).
const digest = (value: string) => hash('sha256', value, 'hex').slice(0, 32);

/** The three buckets' keys of one email at one address. */
type BucketKeys = { pair: string; address: string; email: string };

/**
 * Keys of recent (email, address) pairs, made once: guessing sends the same
 * pair again and again, and each login hashed the email and built three
 * strings (the throttle was about a sixth of pnpm start's event loop in
 * bench:attacks password guessing, the digest a third of that). Cleared
 * when full: an attacker rotating emails only makes it start over.
 */
const keyCache = new Map<string, BucketKeys>();
const KEY_CACHE_SIZE = 1024;

function bucketKeys(emailKey: string, address: string): BucketKeys {
  const id = `${address} ${emailKey}`;
  let keys = keyCache.get(id);
  if (keys) return keys;
  const email = digest(emailKey);
  const from = addressKey(address);
  keys = {
    pair: `login-failures:pair:${email}:${from}`,
    address: `login-failures:address:${from}`,
    email: `login-failures:email:${email}`,
  };
  if (keyCache.size >= KEY_CACHE_SIZE) keyCache.clear();
  keyCache.set(id, keys);
  return keys;
}

/** Reserves one failed login for `emailKey` (lowercased) from `address`, or says when to come back. */
export async function reserveLogin(
  limiter: RateLimiter,
  settings: LoginThrottleSettings,
  appId: string,
  emailKey: string,
  address: string,
): Promise<Reservation> {
  const keys = bucketKeys(emailKey, address);
  const buckets = [
    { key: keys.pair, max: settings.perEmailAndAddress },
    { key: keys.address, max: settings.perAddress },
    { key: keys.email, max: settings.perEmail },
  ];
  const taken: string[] = [];
  const giveBack = () => Promise.all(taken.map((key) => limiter.release(appId, key)));
  for (const bucket of buckets) {
    const verdict = await limiter.consume(appId, bucket.key, {
      max: bucket.max,
      windowMs: settings.windowMs,
    });
    if (!verdict.allowed) {
      // The first bucket refuses most throttled logins: nothing to give back.
      if (taken.length > 0) await giveBack();
      return { ok: false, retryAfterMs: Math.max(1, verdict.resetInMs) };
    }
    taken.push(bucket.key);
  }
  return {
    ok: true,
    succeeded: async () => {
      await giveBack();
    },
  };
}
