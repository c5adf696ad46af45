import { isAnonymous, type User } from '@hubstream/auth';
import type { ClusterBus, ConsoleTap as TapMessage } from '@hubstream/cluster';
import {
  EVENT_ACTION,
  type Message,
  PRESENCE_ACTION,
  RECORD_ACTION,
  RPC_ACTION,
  TOPIC,
} from '@hubstream/protocol';
import type { Section, ValveLoaders, ValveRequest } from '@hubstream/valve';
import {
  compileListenPattern,
  type ListenRegex,
  patternMatches,
} from '../listen/listen-pattern.ts';

// The realtime node's side of the dashboard's live console (issue 18 item 3).
//
// A control plane with a console open for an app publishes `console.watch`
// on the bus and renews it before its lease ends; every node keeps the
// watches of each app for as long as their leases hold. Meanwhile the node
// reports, on the same bus, what that app does here:
//  - events emitted by this node's clients (or its HTTP API) whose name a
//    watch asked for, tagged with the watches they matched. Only the node
//    where an emit starts reports it: in a cluster the others deliver it too,
//    and would report it again;
//  - denials (with the Valve rule that refused) and failed logins;
//  - every STATS_INTERVAL_MS, the app's connections on this node and its
//    logged-in users (who is online: the control plane joins the nodes').
// An app nobody watches costs one Map lookup per emit, denial or failed
// login. A busy app cannot flood the bus: each app's events and problems
// (denials, failed logins) pass token buckets; what they drop is counted
// and reported with the stats. Data is cut at MAX_DATA_CHARS.
//
// It observes the apps' lifecycle hooks (console/extension.ts). The types
// below are what it needs of an app and a connection, kept structural.

/** Events a node reports per second for one app (its bucket's refill), and its burst. */
export const EVENTS_PER_SECOND = 100;
const EVENTS_BURST = 200;
/** Denials and failed logins a node reports per second for one app, and its burst. */
export const PROBLEMS_PER_SECOND = 20;
const PROBLEMS_BURST = 40;
/** An event's data is reported up to this many characters. */
export const MAX_DATA_CHARS = 8 * 1024;
/** Users listed per node in a stats report. */
export const MAX_USERS_REPORTED = 200;
/** Bounds on what one control plane can make a node hold. */
export const MAX_WATCHES_PER_APP = 32;
export const MAX_NAMES_PER_WATCH = 50;
export const MAX_LEASE_MS = 60_000;
export const STATS_INTERVAL_MS = 2_000;

type Permissive = {
  evaluate(
    request: ValveRequest,
    loaders?: ValveLoaders,
  ):
    | { verdict: string; rules: readonly TapRuleOutcome[] }
    | Promise<{
        verdict: string;
        rules: readonly TapRuleOutcome[];
      }>;
};
type TapRuleOutcome = { section: string; pattern: string | null; type: string; verdict: string };

export type TapApp = {
  readonly appId: string;
  readonly permissions: Permissive | null;
  readonly records?: { readonly ruleLoaders?: ValveLoaders };
};
export type TapUser = { id: string; isAuthenticated: boolean; data: unknown };
/** What stats need of a loaded app. */
export type TapRuntime = {
  readonly appId: string;
  readonly connectionCount: number;
  readonly connections: Iterable<{ readonly user: User | null }>;
};

class Bucket {
  #tokens: number;
  #at: number;
  dropped = 0;
  constructor(
    readonly perSecond: number,
    readonly burst: number,
    now: number,
  ) {
    this.#tokens = burst;
    this.#at = now;
  }
  take(now: number): boolean {
    this.#tokens = Math.min(this.burst, this.#tokens + ((now - this.#at) * this.perSecond) / 1000);
    this.#at = now;
    if (this.#tokens >= 1) {
      this.#tokens -= 1;
      return true;
    }
    this.dropped++;
    return false;
  }
}

type Watch = { names: Set<string>; patterns: ListenRegex[]; expiresAt: number };
type Watched = { watches: Map<string, Watch>; events: Bucket; problems: Bucket };

const SECTIONS: Record<number, Section> = {
  [TOPIC.EVENT]: 'event',
  [TOPIC.RECORD]: 'record',
  [TOPIC.RPC]: 'rpc',
  [TOPIC.PRESENCE]: 'presence',
};
const ACTIONS: Record<number, Record<number, string>> = {
  [TOPIC.EVENT]: EVENT_ACTION as unknown as Record<number, string>,
  [TOPIC.RECORD]: RECORD_ACTION as unknown as Record<number, string>,
  [TOPIC.RPC]: RPC_ACTION as unknown as Record<number, string>,
  [TOPIC.PRESENCE]: PRESENCE_ACTION as unknown as Record<number, string>,
};

export class NodeConsoleTap {
  readonly #bus: ClusterBus;
  readonly #runtimes: () => Promise<TapRuntime[]>;
  readonly #apps = new Map<string, Watched>();
  readonly #unsubscribe: () => void;
  readonly #timer: NodeJS.Timeout;
  readonly #now: () => number;

  constructor(options: {
    bus: ClusterBus;
    runtimes: () => Promise<TapRuntime[]>;
    now?: () => number;
  }) {
    this.#bus = options.bus;
    this.#runtimes = options.runtimes;
    this.#now = options.now ?? Date.now;
    this.#unsubscribe = this.#bus.subscribe('console.watch', ({ appId, payload }) =>
      this.#watch(appId, payload),
    );
    this.#timer = setInterval(() => this.#report(), STATS_INTERVAL_MS);
    this.#timer.unref();
  }

  /** Whether a console watches the app (tests, metrics). */
  isWatched(appId: string): boolean {
    return this.#apps.has(appId);
  }

  #watch(
    appId: string,
    request: { watch: string; names: string[]; patterns: string[]; leaseMs: number },
  ) {
    const now = this.#now();
    const leaseMs = Math.min(Math.max(0, request.leaseMs), MAX_LEASE_MS);
    let watched = this.#apps.get(appId);
    if (leaseMs === 0) {
      watched?.watches.delete(request.watch);
      if (watched?.watches.size === 0) this.#apps.delete(appId);
      return;
    }
    const isNew = !watched?.watches.has(request.watch);
    if (!watched) {
      watched = {
        watches: new Map(),
        events: new Bucket(EVENTS_PER_SECOND, EVENTS_BURST, now),
        problems: new Bucket(PROBLEMS_PER_SECOND, PROBLEMS_BURST, now),
      };
      this.#apps.set(appId, watched);
    }
    const kept = watched.watches.get(request.watch);
    if (kept) {
      kept.expiresAt = now + leaseMs;
      return;
    }
    if (watched.watches.size >= MAX_WATCHES_PER_APP) return;
    const patterns: ListenRegex[] = [];
    for (const pattern of request.patterns.slice(0, MAX_NAMES_PER_WATCH)) {
      // The control plane checked them with the same policy; a bad one matches nothing.
      const compiled = compileListenPattern(pattern);
      if (compiled.ok) patterns.push(compiled.regex);
    }
    watched.watches.set(request.watch, {
      names: new Set(request.names.slice(0, MAX_NAMES_PER_WATCH)),
      patterns,
      expiresAt: now + leaseMs,
    });
    // A new console sees the connections and who is online at once.
    if (isNew) this.#statsOf(appId).catch(() => {});
  }

  /** An event this node's client (or HTTP API) emitted, already allowed and delivered. */
  emitted(
    appId: string,
    name: string,
    data: string | undefined,
    sender: { readonly user: { id: string } | null },
  ): void {
    const watched = this.#apps.get(appId);
    if (!watched) return;
    const now = this.#now();
    const matched: string[] = [];
    for (const [id, watch] of watched.watches) {
      if (watch.expiresAt <= now) continue;
      if (watch.names.has(name) || watch.patterns.some((regex) => patternMatches(regex, name))) {
        matched.push(id);
      }
    }
    if (matched.length === 0 || !watched.events.take(now)) return;
    const tap: TapMessage = { kind: 'event', name, watches: matched, at: now };
    if (data !== undefined) {
      tap.data = data.length > MAX_DATA_CHARS ? data.slice(0, MAX_DATA_CHARS) : data;
      if (data.length > MAX_DATA_CHARS) tap.truncated = true;
    }
    if (sender.user) tap.user = sender.user.id;
    this.#publish(appId, tap);
  }

  /**
   * The app's rules refused `message` (for `name`). The verdict is in hand
   * but not the rule: it is asked again, with the message's data, only for
   * the denials the throttle lets through.
   */
  denied(
    app: TapApp,
    user: TapUser | null,
    message: Message,
    name: string | undefined,
    verdict: 'denied' | 'error',
  ): void {
    const { appId } = app;
    const watched = this.#apps.get(appId);
    if (!watched?.problems.take(this.#now())) return;
    this.#ruleOf(app, user, message, name).then(
      (rule) => {
        const tap: TapMessage = {
          kind: 'denied',
          topic: SECTIONS[message.topic] ?? String(message.topic),
          action: ACTIONS[message.topic]?.[message.action] ?? String(message.action),
          verdict,
          rule,
          at: this.#now(),
        };
        if (name !== undefined) tap.name = name;
        if (user) tap.user = user.id;
        this.#publish(appId, tap);
      },
      () => {},
    );
  }

  /** A login on this node failed (or a connection never logged in). */
  authFailed(appId: string, reason: string, connection: { info: { remoteAddress: string } }): void {
    const watched = this.#apps.get(appId);
    if (!watched?.problems.take(this.#now())) return;
    this.#publish(appId, {
      kind: 'auth',
      reason,
      address: connection.info.remoteAddress,
      at: this.#now(),
    });
  }

  async #ruleOf(app: TapApp, user: TapUser | null, message: Message, name: string | undefined) {
    const permissions = app.permissions;
    const section = SECTIONS[message.topic];
    if (!permissions || !user || !section) return null;
    let data: unknown;
    try {
      data = message.data === undefined ? undefined : JSON.parse(message.data);
    } catch {
      data = undefined;
    }
    const request: ValveRequest = {
      section,
      action: message.action,
      name,
      user,
      data,
      path: message.path,
    };
    const result = await permissions.evaluate(request, app.records?.ruleLoaders);
    const refusing = result.rules.find((rule) => rule.verdict !== 'allowed');
    return refusing
      ? { section: refusing.section, pattern: refusing.pattern, type: refusing.type }
      : null;
  }

  #publish(appId: string, tap: TapMessage) {
    this.#bus.publish(appId, 'console.tap', tap).catch(() => {});
  }

  async #statsOf(appId: string, runtimes?: TapRuntime[]) {
    const all = runtimes ?? (await this.#runtimes());
    const runtime = all.find((r) => r.appId === appId);
    const users = new Set<string>();
    let truncated = false;
    for (const connection of runtime?.connections ?? []) {
      // As presence does: anonymous open logins count as connections, not as users online.
      if (!connection.user || isAnonymous(connection.user)) continue;
      if (users.size >= MAX_USERS_REPORTED) {
        truncated = true;
        break;
      }
      users.add(connection.user.id);
    }
    this.#publish(appId, {
      kind: 'stats',
      connections: runtime?.connectionCount ?? 0,
      users: [...users],
      usersTruncated: truncated,
      at: this.#now(),
    });
  }

  async #report() {
    const now = this.#now();
    for (const [appId, watched] of this.#apps) {
      for (const [id, watch] of watched.watches)
        if (watch.expiresAt <= now) watched.watches.delete(id);
      if (watched.watches.size === 0) this.#apps.delete(appId);
    }
    if (this.#apps.size === 0) return;
    const runtimes = await this.#runtimes().catch(() => [] as TapRuntime[]);
    for (const [appId, watched] of this.#apps) {
      const { events, problems } = watched;
      if (events.dropped > 0 || problems.dropped > 0) {
        this.#publish(appId, {
          kind: 'dropped',
          events: events.dropped,
          problems: problems.dropped,
          at: now,
        });
        events.dropped = 0;
        problems.dropped = 0;
      }
      await this.#statsOf(appId, runtimes);
    }
  }

  close(): void {
    clearInterval(this.#timer);
    this.#unsubscribe();
    this.#apps.clear();
  }
}
