import type { PrismaClient } from '@hubstream/db';
import { ApiError } from '../../errors.ts';
import type { RealtimeDataTransport } from '../../lib/realtime-transport.ts';
import { CONSOLE_SCOPE, DASHBOARD_USER_ID, issueConsoleKey } from './service.ts';

// The data browser's reads, edits and deletes go through a realtime node's
// HTTP data API (POST /<appId>/api, docs/data-api.md), not to the records
// table: a realtime node holds the hot copy of a record (in its memory under
// `pnpm start`, in Redis in a cluster, where Postgres is written behind it),
// checks versions, and tells every subscriber on every node. Writing the
// table from here would be overwritten by the hot copy and reach no one.
//
// The credential is an app API key that this process makes for itself, one
// per app, with the data scope and the `console` scope that keeps it out of
// the app's key list. The key acts as user DASHBOARD_USER_ID, so the app's
// Valve rules judge the dashboard's edits as they judge any backend's.
// Only its SHA-256 is stored (service.ts makes the row); the key itself
// lives in this process' memory.

export { CONSOLE_SCOPE, DASHBOARD_USER_ID };

/** A key is replaced after this long; older ones are deleted when a new one is made. */
const KEY_ROTATE_MS = 12 * 3600 * 1000;
const KEY_DELETE_AFTER_MS = 2 * KEY_ROTATE_MS;
/** Keys kept in memory at most (one per app used recently), least recent dropped. */
const MAX_KEYS = 1000;

export type { RealtimeDataTransport };

/** Calls `baseUrl` (http(s)://host:port of a realtime node or their load balancer). */
export function fetchTransport(baseUrl: string, timeoutMs: number): RealtimeDataTransport {
  const base = baseUrl.replace(/\/+$/, '');
  return async (appId, request) => {
    const response = await fetch(`${base}/${encodeURIComponent(appId)}/api`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: request.authorization },
      body: request.body,
      signal: AbortSignal.timeout(timeoutMs),
    });
    return { status: response.status, text: await response.text() };
  };
}

/** A command's answer, in the data API's words (results.ts of the realtime node). */
export type DataResult = {
  success: boolean;
  error?: string;
  errorEvent?: string;
  version?: number;
  data?: unknown;
  currentVersion?: number;
};

/** Record data: a JSON object, or an array for a list. */
export type RecordData = Record<string, unknown> | unknown[];
export type StoredRecordView = { version: number; data: RecordData };

const unavailable = (why: string) =>
  new ApiError(
    'REALTIME_UNAVAILABLE',
    `The realtime nodes could not be reached to do this (${why}). Try again in a moment.`,
  );

export class RealtimeData {
  readonly #prisma: PrismaClient;
  readonly #transport: RealtimeDataTransport;
  readonly #keys = new Map<string, { key: string; at: number }>();

  constructor(prisma: PrismaClient, transport: RealtimeDataTransport) {
    this.#prisma = prisma;
    this.#transport = transport;
  }

  /** The record with its version, or null when it does not exist. */
  async read(appId: string, name: string): Promise<StoredRecordView | null> {
    const [result] = await this.#run(appId, [
      { topic: 'record', action: 'read', recordName: name },
    ]);
    if (result!.success) {
      const { data } = result!;
      if (typeof data !== 'object' || data === null) throw unavailable('the record had no data');
      return { version: result!.version ?? 0, data: data as RecordData };
    }
    if (result!.errorEvent === 'RECORD_NOT_FOUND') return null;
    throw failureOf(result!);
  }

  /**
   * Replaces the record's data if it is still at `version` (the version the
   * editor was showing; 0 for a record that does not exist yet). The data
   * API takes the version the write makes, so version + 1 is sent.
   */
  async write(appId: string, name: string, data: unknown, version: number): Promise<number> {
    const [result] = await this.#run(appId, [
      { topic: 'record', action: 'write', recordName: name, data, version: version + 1 },
    ]);
    if (result!.success) return version + 1;
    if (result!.errorEvent === 'VERSION_EXISTS' || result!.errorEvent === 'INVALID_VERSION') {
      throw conflict(name, result!.currentVersion ?? null);
    }
    throw failureOf(result!);
  }

  async delete(appId: string, name: string): Promise<void> {
    const [result] = await this.#run(appId, [
      { topic: 'record', action: 'delete', recordName: name },
    ]);
    if (!result!.success) throw failureOf(result!);
  }

  /** Data API commands as they are (the live console's emits and RPCs): one result each. */
  commands(appId: string, body: Record<string, unknown>[]): Promise<DataResult[]> {
    return this.#run(appId, body);
  }

  async #run(appId: string, body: Record<string, unknown>[]): Promise<DataResult[]> {
    let answer = await this.#call(appId, body, await this.#keyFor(appId));
    // Our key was deleted or revoked meanwhile (it is a row like any key): make another once.
    if (answer.status === 401 || answer.status === 403) {
      this.#keys.delete(appId);
      answer = await this.#call(appId, body, await this.#keyFor(appId));
    }
    if (answer.status !== 200) {
      throw unavailable(`HTTP ${answer.status}: ${answer.text.slice(0, 200)}`);
    }
    let parsed: { body?: DataResult[] };
    try {
      parsed = JSON.parse(answer.text) as { body?: DataResult[] };
    } catch {
      throw unavailable('the answer was not JSON');
    }
    if (!Array.isArray(parsed.body) || parsed.body.length !== body.length) {
      throw unavailable('the answer had no result for the command');
    }
    return parsed.body;
  }

  async #call(appId: string, body: Record<string, unknown>[], key: string) {
    try {
      return await this.#transport(appId, {
        authorization: `Bearer ${key}`,
        body: JSON.stringify({ body }),
      });
    } catch (error) {
      throw unavailable((error as Error).message);
    }
  }

  async #keyFor(appId: string): Promise<string> {
    const now = Date.now();
    const kept = this.#keys.get(appId);
    if (kept && now - kept.at < KEY_ROTATE_MS) {
      // Most recently used last, so the first entry is the one to drop.
      this.#keys.delete(appId);
      this.#keys.set(appId, kept);
      return kept.key;
    }
    // Keys this or another control plane made long ago are no longer used by anyone.
    const key = await issueConsoleKey(this.#prisma, appId, new Date(now - KEY_DELETE_AFTER_MS));
    this.#keys.delete(appId);
    if (this.#keys.size >= MAX_KEYS) {
      const oldest = this.#keys.keys().next();
      if (!oldest.done) this.#keys.delete(oldest.value);
    }
    this.#keys.set(appId, { key, at: now });
    return key;
  }
}

export function conflict(name: string, current: number | null): ApiError {
  return new ApiError(
    'VERSION_CONFLICT',
    current === null
      ? `Record "${name}" changed since you loaded it: it no longer exists.`
      : `Record "${name}" changed since you loaded it: it is at version ${current} now. Load it again and redo your change.`,
    [{ currentVersion: current }],
  );
}

function failureOf(result: DataResult): ApiError {
  // Refused by the app's message rate (limits), not by its rules: results.ts's rateLimited.
  if (result.errorEvent === 'MESSAGE_DENIED' && result.error?.includes('rate limit')) {
    return new ApiError(
      'RATE_LIMITED',
      "The app's message rate limit is reached (see its Limits page): nothing was done. Try again in a moment.",
    );
  }
  if (result.errorEvent === 'MESSAGE_DENIED' || result.errorEvent === 'MESSAGE_PERMISSION_ERROR') {
    return new ApiError(
      'DENIED_BY_PERMISSIONS',
      `The app's permissions refused this for user "${DASHBOARD_USER_ID}" (${result.error ?? result.errorEvent}). Allow that user in the app's Valve rules to edit records from the dashboard.`,
    );
  }
  return unavailable(result.error ?? result.errorEvent ?? 'the command failed');
}
