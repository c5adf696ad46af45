import { randomUUID } from 'node:crypto';
import type { ClusterBus, ConsoleRule, ConsoleTap } from '@hubstream/cluster';

// The control plane's side of the live console: the consoles open in this
// process (one stream each, SSE to a browser), the watches it keeps alive on
// the bus for them, and what the realtime nodes report back, routed to the
// streams of the app it is about and nowhere else.
//
// Bounds, so that a busy app cannot flood a browser or this process:
// - the nodes throttle per app (realtime/src/console/tap.ts);
// - here each stream passes events and problems (denials, failed logins)
//   through its own token buckets (EVENTS_PER_SECOND, PROBLEMS_PER_SECOND);
//   what they drop is told as a "k more dropped" item once a second;
// - a stream whose socket does not keep up (MAX_BUFFERED_BYTES unsent) drops
//   items too, counted the same way;
// - streams per app and in all are capped (the route refuses more).

/** Items a console receives per second, per kind, and the bursts allowed. */
export const EVENTS_PER_SECOND = 20;
export const PROBLEMS_PER_SECOND = 10;
const EVENTS_BURST = 40;
const PROBLEMS_BURST = 20;
/** How long a node keeps a watch without renewal; renewed every third of it. */
export const LEASE_MS = 15_000;
/** A node whose stats stopped coming this long ago is left out of the per-node counts. */
const NODE_STALE_MS = 10_000;
/** Unsent bytes past which a stream's socket is not keeping up. */
export const MAX_BUFFERED_BYTES = 256 * 1024;
export const MAX_STREAMS_PER_APP = 10;
export const MAX_STREAMS = 200;
/** Users listed as online at most (the count is exact up to the nodes' own caps). */
export const MAX_ONLINE_LISTED = 500;

/** What a console shows, as sent to the browser (SSE event name = `type`). */
export type ConsoleItem =
  | {
      type: 'event';
      name: string;
      data?: string;
      truncated?: boolean;
      user?: string;
      node: string;
      at: number;
    }
  | {
      type: 'denied';
      topic: string;
      action: string;
      name?: string;
      user?: string;
      verdict: 'denied' | 'error';
      rule: (ConsoleRule & { line: number | null }) | null;
      node: string;
      at: number;
    }
  | { type: 'auth'; reason: string; address?: string; node: string; at: number }
  | { type: 'dropped'; what: 'events' | 'problems'; count: number }
  | {
      type: 'nodes';
      nodes: { node: string; connections: number; users: number }[];
      online: string[];
      onlineTruncated: boolean;
    }
  | { type: 'presence'; user: string; online: boolean };

class Bucket {
  #tokens: number;
  #at = Date.now();
  dropped = 0;
  constructor(
    readonly perSecond: number,
    readonly burst: number,
  ) {
    this.#tokens = burst;
  }
  take(): boolean {
    const now = Date.now();
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

/** Writes one item to the browser; false when it was not written (the socket is behind). */
export type ConsoleSink = (item: ConsoleItem) => boolean;

export class ConsoleStream {
  readonly id = randomUUID();
  readonly events = new Bucket(EVENTS_PER_SECOND, EVENTS_BURST);
  readonly problems = new Bucket(PROBLEMS_PER_SECOND, PROBLEMS_BURST);
  constructor(
    readonly appId: string,
    readonly names: string[],
    readonly patterns: string[],
    readonly sink: ConsoleSink,
    /** Ends the browser's stream (the control plane is closing). */
    readonly end: () => void,
  ) {}

  /** Sends through `bucket` (if any); what is not sent is counted as dropped. */
  offer(item: ConsoleItem, bucket?: Bucket): void {
    if (bucket && !bucket.take()) return;
    if (!this.sink(item) && bucket) bucket.dropped++;
  }

  flushDropped(): void {
    for (const [what, bucket] of [
      ['events', this.events],
      ['problems', this.problems],
    ] as const) {
      if (bucket.dropped === 0) continue;
      if (this.sink({ type: 'dropped', what, count: bucket.dropped })) bucket.dropped = 0;
    }
  }
}

type NodeShare = { connections: number; users: string[]; truncated: boolean; seenAt: number };
type AppConsoles = { streams: Set<ConsoleStream>; nodes: Map<string, NodeShare> };

export type RuleLines = (appId: string, rule: ConsoleRule) => Promise<number | null>;

export class ConsoleHub {
  readonly #bus: ClusterBus;
  readonly #ruleLines: RuleLines;
  readonly #apps = new Map<string, AppConsoles>();
  readonly #unsubscribe: (() => void)[];
  #streams = 0;
  #timer: NodeJS.Timeout | null = null;
  #ticks = 0;

  constructor(bus: ClusterBus, ruleLines: RuleLines) {
    this.#bus = bus;
    this.#ruleLines = ruleLines;
    this.#unsubscribe = [
      bus.subscribe('console.tap', ({ appId, origin, payload }) => {
        const app = this.#apps.get(appId);
        if (app) this.#tapped(appId, app, origin, payload);
      }),
      bus.subscribe('presence.changed', ({ appId, payload }) => {
        const app = this.#apps.get(appId);
        if (!app) return;
        const item: ConsoleItem = { type: 'presence', user: payload.user, online: payload.online };
        for (const stream of app.streams) stream.offer(item, stream.events);
      }),
    ];
  }

  /** Whether another stream may open for `appId` now. */
  hasRoom(appId: string): boolean {
    const app = this.#apps.get(appId);
    return this.#streams < MAX_STREAMS && (app?.streams.size ?? 0) < MAX_STREAMS_PER_APP;
  }

  open(
    appId: string,
    names: string[],
    patterns: string[],
    sink: ConsoleSink,
    end: () => void,
  ): ConsoleStream {
    const stream = new ConsoleStream(appId, names, patterns, sink, end);
    let app = this.#apps.get(appId);
    if (!app) {
      app = { streams: new Set(), nodes: new Map() };
      this.#apps.set(appId, app);
    }
    app.streams.add(stream);
    this.#streams++;
    this.#renew(stream);
    this.#timer ??= setInterval(() => this.#tick(), 1000);
    this.#timer.unref();
    return stream;
  }

  close(stream: ConsoleStream): void {
    const app = this.#apps.get(stream.appId);
    if (!app?.streams.delete(stream)) return;
    this.#streams--;
    this.#bus
      .publish(stream.appId, 'console.watch', {
        watch: stream.id,
        names: [],
        patterns: [],
        leaseMs: 0,
      })
      .catch(() => {});
    if (app.streams.size === 0) this.#apps.delete(stream.appId);
    if (this.#apps.size === 0 && this.#timer) {
      clearInterval(this.#timer);
      this.#timer = null;
    }
  }

  #renew(stream: ConsoleStream) {
    this.#bus
      .publish(stream.appId, 'console.watch', {
        watch: stream.id,
        names: stream.names,
        patterns: stream.patterns,
        leaseMs: LEASE_MS,
      })
      .catch(() => {});
  }

  #tick() {
    this.#ticks++;
    const renew = this.#ticks % Math.max(1, Math.floor(LEASE_MS / 3000)) === 0;
    for (const app of this.#apps.values()) {
      for (const stream of app.streams) {
        stream.flushDropped();
        if (renew) this.#renew(stream);
      }
    }
  }

  #tapped(appId: string, app: AppConsoles, node: string, tap: ConsoleTap) {
    switch (tap.kind) {
      case 'event': {
        const item: ConsoleItem = { type: 'event', name: tap.name, node, at: tap.at };
        if (tap.data !== undefined) item.data = tap.data;
        if (tap.truncated) item.truncated = true;
        if (tap.user !== undefined) item.user = tap.user;
        for (const stream of app.streams) {
          if (tap.watches.includes(stream.id)) stream.offer(item, stream.events);
        }
        return;
      }
      case 'denied': {
        const send = (line: number | null) => {
          const item: ConsoleItem = {
            type: 'denied',
            topic: tap.topic,
            action: tap.action,
            verdict: tap.verdict,
            rule: tap.rule ? { ...tap.rule, line } : null,
            node,
            at: tap.at,
          };
          if (tap.name !== undefined) item.name = tap.name;
          if (tap.user !== undefined) item.user = tap.user;
          for (const stream of this.#apps.get(appId)?.streams ?? []) {
            stream.offer(item, stream.problems);
          }
        };
        if (!tap.rule) send(null);
        else this.#ruleLines(appId, tap.rule).then(send, () => send(null));
        return;
      }
      case 'auth': {
        const item: ConsoleItem = { type: 'auth', reason: tap.reason, node, at: tap.at };
        if (tap.address !== undefined) item.address = tap.address;
        for (const stream of app.streams) stream.offer(item, stream.problems);
        return;
      }
      case 'dropped': {
        // The node's own throttle: counted into every stream's markers.
        for (const stream of app.streams) {
          stream.events.dropped += tap.events;
          stream.problems.dropped += tap.problems;
        }
        return;
      }
      case 'stats': {
        app.nodes.set(node, {
          connections: tap.connections,
          users: tap.users,
          truncated: tap.usersTruncated,
          seenAt: Date.now(),
        });
        const item = this.#nodesItem(app);
        for (const stream of app.streams) stream.offer(item);
        return;
      }
    }
  }

  #nodesItem(app: AppConsoles): ConsoleItem {
    const now = Date.now();
    const online = new Set<string>();
    let truncated = false;
    const nodes: { node: string; connections: number; users: number }[] = [];
    for (const [node, share] of app.nodes) {
      if (now - share.seenAt > NODE_STALE_MS) {
        app.nodes.delete(node);
        continue;
      }
      nodes.push({ node, connections: share.connections, users: share.users.length });
      truncated ||= share.truncated;
      for (const user of share.users) {
        if (online.size >= MAX_ONLINE_LISTED) {
          truncated = true;
          break;
        }
        online.add(user);
      }
    }
    nodes.sort((a, b) => a.node.localeCompare(b.node));
    return { type: 'nodes', nodes, online: [...online].sort(), onlineTruncated: truncated };
  }

  /** Ends every stream (their browsers reconnect elsewhere) and stops listening. */
  shutdown(): void {
    for (const app of [...this.#apps.values()]) {
      for (const stream of [...app.streams]) {
        this.close(stream);
        stream.end();
      }
    }
    for (const unsubscribe of this.#unsubscribe) unsubscribe();
    if (this.#timer) clearInterval(this.#timer);
  }
}
