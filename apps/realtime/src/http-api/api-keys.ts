import { createHash } from 'node:crypto';
import type { User } from '@hubstream/auth';
import { type ApiKeyGrant, findApiKeyByHash, type PrismaClient, touchApiKey } from '@hubstream/db';

// `Authorization: Bearer <app API key>` on the HTTP data API: a trusted
// backend acting as the user the key names. Keys are looked up as the
// control plane does (the SHA-256 of the key, which is all the database
// holds). A lookup, found or not, is kept for HTTP_API_KEY_CACHE_MS so a
// busy backend does not cost a query per request; a key revoked or
// re-scoped in the dashboard therefore still works here for up to that long.

/** Lookups remembered at most (wrong keys included), oldest dropped first. */
const MAX_CACHED = 10_000;
/** lastUsedAt is written at most this often per key (as the control plane does). */
const TOUCH_EVERY_MS = 3_600_000;

const API_KEY_FORMAT = /^hsk_[a-z0-9]{8}_[A-Za-z0-9_-]{43}$/;

export type KeyVerdict =
  | { ok: true; user: User }
  | { ok: false; status: 401 | 403; message: string };

// What is said depends only on what the caller sent and, for a key that
// exists in this app, on that key: a key of another app reads exactly as an
// unknown one, so nothing tells which keys exist elsewhere.
const PROBLEMS = {
  malformed:
    'This API key is malformed: app API keys are "hsk_", 8 letters or digits, "_" and 43 more characters. Copy it again, or create a new one on the app\'s API keys page.',
  unknown:
    "This API key is not valid for this app. Check that you copied all of it and that the URL names the key's app, or create a new key on the app's API keys page.",
  revoked: "This API key was revoked. Create a new one on the app's API keys page.",
  noDataScope:
    "This API key may not use the HTTP data API: it lacks the 'data' scope (it can only manage the app's users). Create a key with the 'data' scope on the app's API keys page.",
} as const;

export class ApiKeys {
  readonly #prisma: PrismaClient;
  readonly #cache = new Map<string, { row: ApiKeyGrant | null; at: number }>();
  readonly #cacheMs: number;
  readonly #now: () => number;

  constructor(prisma: PrismaClient, cacheMs: number, now: () => number = Date.now) {
    this.#prisma = prisma;
    this.#cacheMs = cacheMs;
    this.#now = now;
  }

  /** Who a request with this key acts as in `appId`, or why it may not. */
  async verify(appId: string, key: string): Promise<KeyVerdict> {
    if (!API_KEY_FORMAT.test(key)) return { ok: false, status: 401, message: PROBLEMS.malformed };
    const row = await this.#lookup(createHash('sha256').update(key).digest('hex'));
    if (!row || row.appId !== appId) return { ok: false, status: 401, message: PROBLEMS.unknown };
    if (row.revokedAt) return { ok: false, status: 401, message: PROBLEMS.revoked };
    if (!(row.scopes ?? []).includes('data')) {
      return { ok: false, status: 403, message: PROBLEMS.noDataScope };
    }
    // Valve knows the strategies open, email and webhook only: a key's user
    // has none, and rules recognise it by its id or its data.
    const user = {
      id: row.userId ?? `api-key:${row.name || row.prefix}`,
      isAuthenticated: true,
      data: row.serverData ?? {},
    } as unknown as User;
    return { ok: true, user };
  }

  async #lookup(keyHash: string): Promise<ApiKeyGrant | null> {
    const now = this.#now();
    const cached = this.#cache.get(keyHash);
    if (cached && now - cached.at < this.#cacheMs) return cached.row;
    const row = await findApiKeyByHash(this.#prisma, keyHash);
    this.#cache.delete(keyHash);
    if (this.#cache.size >= MAX_CACHED) {
      const oldest = this.#cache.keys().next();
      if (!oldest.done) this.#cache.delete(oldest.value);
    }
    this.#cache.set(keyHash, { row, at: now });
    if (
      row &&
      !row.revokedAt &&
      (!row.lastUsedAt || now - row.lastUsedAt.getTime() > TOUCH_EVERY_MS)
    ) {
      row.lastUsedAt = new Date(now);
      touchApiKey(this.#prisma, row.id, row.lastUsedAt).catch(() => {
        // Only a usage hint; the next lookup tries again.
      });
    }
    return row;
  }
}
