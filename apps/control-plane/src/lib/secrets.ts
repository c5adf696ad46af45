import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export { burnPasswordCheck, hashPassword, verifyPassword } from '@hubstream/service';

// Tokens and API keys: 32 random bytes; only their SHA-256 is stored, which
// is enough for values with 256 bits of entropy and fast to look up.

export const randomToken = (prefix: string) => `${prefix}${randomBytes(32).toString('base64url')}`;

export const sha256 = (value: string) => createHash('sha256').update(value).digest('hex');

export function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Lowercased, trimmed: how emails are compared everywhere. */
export const emailKey = (email: string) => email.trim().toLowerCase();
