// The live console's traffic on the cluster bus (dashboard, issue 18 item 3).
// A control plane with a console open announces what it watches for an app
// (`console.watch`, renewed before its lease runs out); while a lease holds,
// each realtime node reports that app's traffic it originated
// (`console.tap`), so an event emitted on node A is reported once, by A,
// however many nodes deliver it. Nothing flows for an app nobody watches.

/** A console's interest in one app's events. A lease of 0 ends the watch. */
export type ConsoleWatch = {
  /** Unique per console stream; taps name the watches an event matched. */
  watch: string;
  /** Exact event names. */
  names: string[];
  /** Listen-style patterns (RE2, matched anywhere in the name). */
  patterns: string[];
  leaseMs: number;
};

/** The rule that refused an action, as Valve names it (pattern null: no rule of that type matched). */
export type ConsoleRule = { section: string; pattern: string | null; type: string };

/** One thing a realtime node saw in a watched app. `at`: the node's clock, ms since the epoch. */
export type ConsoleTap =
  | {
      kind: 'event';
      name: string;
      /** The event's JSON text, cut at the tap's data cap (`truncated`). */
      data?: string;
      truncated?: boolean;
      /** Who emitted it (the dashboard's own emits are user hubstream:dashboard). */
      user?: string;
      watches: string[];
      at: number;
    }
  | {
      kind: 'denied';
      topic: string;
      action: string;
      name?: string;
      user?: string;
      verdict: 'denied' | 'error';
      rule: ConsoleRule | null;
      at: number;
    }
  | { kind: 'auth'; reason: string; address?: string; at: number }
  | {
      /** The node's share of the app, sent every few seconds while watched. */
      kind: 'stats';
      /** Open connections, logged in or not. */
      connections: number;
      /** Users with a logged-in connection on this node (at most a bounded number). */
      users: string[];
      usersTruncated: boolean;
      at: number;
    }
  | {
      /** What the node's per-app throttle dropped since its last report. */
      kind: 'dropped';
      events: number;
      problems: number;
      at: number;
    };
