import type { RuleType, Section } from './actions.js';
import type { ValveRuntimeError } from './errors.js';

/** How a user logged in: open auth (ids `open:...`, not authenticated), email or webhook. */
export type LoginStrategy = 'open' | 'email' | 'webhook';

/**
 * The user as rules see it: `user.id`, `user.isAuthenticated`,
 * `user.strategy` and `user.data` (the login's serverData).
 */
export interface ValveUser {
  readonly id: string;
  readonly isAuthenticated: boolean;
  /** Absent for users made without one (older callers); Hubstream's logins always set it. */
  readonly strategy?: LoginStrategy;
  readonly data: unknown;
}

/** One permission question: may this user do this action on this name? */
export interface ValveRequest {
  readonly section: Section;
  /** A rule type (`write`), a protocol action name (`CREATEANDUPDATE`) or its protobuf number. */
  readonly action: string | number;
  /** The record, event or RPC name, or the queried user; absent for presence *_ALL queries. */
  readonly name?: string | undefined;
  readonly user: ValveUser;
  /** The message payload: the new record data, event data or RPC data. For PATCH, the value at `path`. */
  readonly data?: unknown;
  /**
   * The stored record when already in hand; null means it does not exist.
   * Left undefined, it is loaded through the loaders only if a rule needs it.
   */
  readonly oldData?: unknown;
  /** The path of a PATCH / CREATEANDPATCH. */
  readonly path?: string | undefined;
  /** Milliseconds since the epoch for `now`; defaults to Date.now(). */
  readonly now?: number | undefined;
}

/** How an evaluation loads records, for `_()` and oldData. The realtime node implements it. */
export interface ValveLoaders {
  /**
   * The record's data, or null when it does not exist. May answer synchronously
   * (a cache hit keeps the evaluation synchronous) or with a promise.
   */
  loadRecord(name: string): unknown;
}

export interface EvaluateOptions {
  /** Collect variables bound, records loaded and sub-expression values. */
  readonly trace?: boolean | undefined;
}

export type Verdict = 'allowed' | 'denied' | 'error';

/** One rule that ran, or the rule type that no pattern defined (pattern null). */
export interface RuleOutcome {
  readonly section: Section;
  readonly pattern: string | null;
  readonly type: RuleType;
  readonly verdict: Verdict;
  /** What the rule evaluated to; absent when it failed. */
  readonly result?: unknown;
}

export type TraceEntry =
  | {
      readonly kind: 'rule';
      readonly section: Section;
      readonly type: RuleType;
      readonly pattern: string | null;
      readonly action: number;
      readonly actionName: string;
    }
  | { readonly kind: 'skip'; readonly type: RuleType; readonly reason: string }
  | { readonly kind: 'bind'; readonly variable: string; readonly value: unknown }
  | {
      readonly kind: 'load';
      readonly record: string;
      readonly round: number;
      readonly found: boolean;
      readonly error?: string;
    }
  | {
      readonly kind: 'value';
      readonly round: number;
      readonly expression: string;
      readonly type: string;
      readonly value?: unknown;
    }
  | {
      readonly kind: 'result';
      readonly type: RuleType;
      readonly pattern: string | null;
      readonly verdict: Verdict;
      readonly result?: unknown;
    };

export interface EvaluationResult {
  readonly verdict: Verdict;
  /** True exactly when verdict is 'allowed'. */
  readonly allowed: boolean;
  /** The rules that ran, in order; empty for actions that are not permissioned. */
  readonly rules: readonly RuleOutcome[];
  readonly error?: ValveRuntimeError;
  readonly trace?: readonly TraceEntry[];
}
