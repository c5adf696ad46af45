import type { Connection } from '../core/connection.ts';
import { compileListenPattern, type ListenRegex, patternMatches } from './listen-pattern.ts';

/** One of this node's connections listening on one pattern. */
export type Listener = { connection: Connection; pattern: string; regex: ListenRegex };

const MAX_CACHED_PATTERNS = 1000;

/**
 * The listeners on this node for one app and topic, by pattern, with how
 * many patterns each connection holds (CONNECTION_MAX_LISTENS), and other
 * nodes' patterns compiled once to match names against.
 */
export class LocalListeners {
  readonly #byPattern = new Map<string, Listener[]>();
  readonly #counts = new Map<Connection, number>();
  /** Other nodes' patterns, compiled once. */
  readonly #compiled = new Map<string, ListenRegex | null>();

  /** Whether `connection` listens on `pattern` already. */
  has(connection: Connection, pattern: string): boolean {
    return this.#byPattern.get(pattern)?.some((l) => l.connection === connection) ?? false;
  }

  countOf(connection: Connection): number {
    return this.#counts.get(connection) ?? 0;
  }

  add(listener: Listener): void {
    const list = this.#byPattern.get(listener.pattern) ?? [];
    this.#counts.set(listener.connection, this.countOf(listener.connection) + 1);
    list.push(listener);
    this.#byPattern.set(listener.pattern, list);
  }

  /** Takes `connection`'s listener on `pattern` out; undefined when it had none. */
  remove(connection: Connection, pattern: string): Listener | undefined {
    const list = this.#byPattern.get(pattern);
    if (!list) return undefined;
    const listener = list.find((l) => l.connection === connection);
    if (!listener) return undefined;
    const rest = list.filter((l) => l !== listener);
    const count = (this.#counts.get(connection) ?? 1) - 1;
    if (count > 0) this.#counts.set(connection, count);
    else this.#counts.delete(connection);
    if (rest.length === 0) this.#byPattern.delete(pattern);
    else this.#byPattern.set(pattern, rest);
    return listener;
  }

  /** Whether `listener` is still listening (not removed meanwhile). */
  includes(listener: Listener): boolean {
    return this.#byPattern.get(listener.pattern)?.includes(listener) ?? false;
  }

  /** The patterns listened on now (a copy: removing while iterating is fine). */
  patterns(): string[] {
    return [...this.#byPattern.keys()];
  }

  /** The listener on `pattern` of the connection with this id (as other nodes name it). */
  find(pattern: string, connectionId: string): Listener | undefined {
    return this.#byPattern.get(pattern)?.find((l) => l.connection.id === connectionId);
  }

  /** One compiled regex per pattern listened on. */
  regexes(): ListenRegex[] {
    return [...this.#byPattern.values()].map((list) => list[0]!.regex);
  }

  *all(): Generator<Listener> {
    for (const list of this.#byPattern.values()) yield* list;
  }

  /** Whether `name` matches `pattern` (a local listener's, or another node's compiled here). */
  matches(pattern: string, name: string): boolean {
    const local = this.#byPattern.get(pattern)?.[0];
    if (local) return patternMatches(local.regex, name);
    let regex = this.#compiled.get(pattern);
    if (regex === undefined) {
      const compiled = compileListenPattern(pattern);
      regex = compiled.ok ? compiled.regex : null;
      if (this.#compiled.size >= MAX_CACHED_PATTERNS) this.#compiled.clear();
      this.#compiled.set(pattern, regex);
    }
    return regex ? patternMatches(regex, name) : false;
  }
}
