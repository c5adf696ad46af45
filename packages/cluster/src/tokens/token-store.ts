import { createHash, randomBytes } from 'node:crypto';

// Tokens from the HTTP API's POST /:appId/api/auth: a later request sends
// the token instead of logging in again. Only the token's SHA-256 is kept,
// with the session the login produced (`S`: JSON, the user), for the
// token's time to live. Clustered, they live in Redis (under the app's
// `hs:<app>:` keys, so deleting the app purges them) and work on every node;
// alone (pnpm start, no Redis) in a bounded table in the process.

export const TOKEN_PREFIX = 'hst_';
export const TOKEN_FORMAT = /^hst_[A-Za-z0-9_-]{43}$/;

export interface TokenStore<S> {
  issue(appId: string, session: S): Promise<string>;
  /** The session of a token of this app, or null (unknown, expired, malformed, another app's). */
  find(appId: string, token: string): Promise<S | null>;
}

/** What the stores keep instead of the token itself. */
export const tokenHash = (token: string) => createHash('sha256').update(token).digest('hex');

export const newToken = () => `${TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;

/** Whether a string has the form of a token this API hands out (not a webhook's own token). */
export const isOwnToken = (token: string) => token.startsWith(TOKEN_PREFIX);
