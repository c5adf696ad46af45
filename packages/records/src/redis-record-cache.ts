import type { StoredRecord } from './record-store.ts';

// The Redis record store's local cache, which serves peek(): records this
// node read or wrote, least recently used first out, except those its
// subscribers hold. Changes other nodes announce drop what they make stale;
// while announcements cannot be heard, nothing is cached. The store's
// compare-and-set never trusts the cache.

/** An operation in flight on a record: changes heard meanwhile make its result unfit to cache. */
export type Flight = { count: number; staleBelow: number };

export class RecordCache {
  readonly #max: number;
  /** Cached records (null: known absent), by key. */
  readonly #cache = new Map<string, StoredRecord | null>();
  /** Cached keys without subscribers, least recently used first. */
  readonly #idle = new Set<string>();
  readonly #holds = new Map<string, number>();
  readonly #flights = new Map<string, Flight>();
  #listening = false;

  constructor(maxCached: number) {
    this.#max = maxCached;
  }

  get size(): number {
    return this.#cache.size;
  }

  peek(key: string): StoredRecord | null | undefined {
    const record = this.#cache.get(key);
    if (record !== undefined && this.#idle.delete(key)) this.#idle.add(key);
    return record;
  }

  hold(key: string): void {
    this.#holds.set(key, (this.#holds.get(key) ?? 0) + 1);
    this.#idle.delete(key);
  }

  release(key: string): void {
    const count = (this.#holds.get(key) ?? 0) - 1;
    if (count > 0) {
      this.#holds.set(key, count);
      return;
    }
    this.#holds.delete(key);
    if (this.#cache.has(key)) this.#makeIdle(key);
  }

  /** Starts tracking an operation on the record. */
  begin(key: string): Flight {
    let flight = this.#flights.get(key);
    if (!flight) {
      flight = { count: 0, staleBelow: Number.NEGATIVE_INFINITY };
      this.#flights.set(key, flight);
    }
    flight.count++;
    return flight;
  }

  end(key: string, flight: Flight): void {
    if (--flight.count === 0 && this.#flights.get(key) === flight) this.#flights.delete(key);
  }

  /** Caches what an operation found, unless a change heard meanwhile made it stale. */
  remember(key: string, record: StoredRecord | null, flight: Flight): void {
    if (!this.#listening || (record?.version ?? -1) < flight.staleBelow) return;
    this.#cache.set(key, record);
    if (this.#holds.has(key)) this.#idle.delete(key);
    else this.#makeIdle(key);
  }

  forget(key: string): void {
    this.#cache.delete(key);
    this.#idle.delete(key);
  }

  /**
   * Another node changed the record to `version` (`replaced`: deleted or
   * reloaded, after which versions may repeat, so it always counts as news).
   */
  heard(key: string, version: number, replaced: boolean): void {
    const staleBelow = replaced ? Number.POSITIVE_INFINITY : version;
    const flight = this.#flights.get(key);
    if (flight) flight.staleBelow = Math.max(flight.staleBelow, staleBelow);
    const cached = this.#cache.get(key);
    if (cached !== undefined && (cached?.version ?? -1) < staleBelow) this.forget(key);
  }

  /** Changes can be heard again; what is in flight read Redis before that. */
  listening(): void {
    for (const flight of this.#flights.values()) flight.staleBelow = Number.POSITIVE_INFINITY;
    this.#listening = true;
  }

  /** Changes can no longer be heard: nothing cached can be trusted. */
  deafen(): void {
    this.#listening = false;
    this.#cache.clear();
    this.#idle.clear();
  }

  #makeIdle(key: string) {
    this.#idle.delete(key);
    this.#idle.add(key);
    for (const idle of this.#idle) {
      if (this.#idle.size <= this.#max) break;
      this.forget(idle);
    }
  }
}
