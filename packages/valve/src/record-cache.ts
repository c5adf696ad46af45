import { RuleError } from './errors.js';
import { MAX_CROSS_REFERENCES } from './limits.js';
import type { TraceEntry, ValveLoaders } from './types.js';

// The records one evaluation has asked for: each name loads once, loads in the
// same round run in parallel, and the limits on records and rounds hold.

const PENDING = 0;
const LOADED = 1;
const FAILED = 2;

class Slot {
  state: typeof PENDING | typeof LOADED | typeof FAILED = PENDING;
  value: unknown = undefined;
  error = '';
  constructor(
    readonly name: string,
    readonly round: number,
  ) {}
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

export class RecordCache {
  private readonly slots = new Map<string, Slot>();
  /** Loads started since the last takePending() that may still be in flight. */
  private pending: Promise<void>[] | null = null;

  constructor(
    private readonly loaders: ValveLoaders | undefined,
    private readonly trace: TraceEntry[] | null,
  ) {}

  get pendingCount(): number {
    return this.pending === null ? 0 : this.pending.length;
  }

  takePending(): Promise<void>[] {
    const pending = this.pending ?? [];
    this.pending = null;
    return pending;
  }

  /**
   * The record's data, null when it does not exist, or undefined while its
   * load is in flight. `roundsLeft` is false in a run that may not start loads.
   */
  get(name: string, roundsLeft: boolean, round: number, maxRounds: number): unknown {
    const slot = this.slots.get(name);
    if (slot !== undefined) {
      if (slot.state === LOADED) return slot.value;
      if (slot.state === FAILED) throw this.loadError(slot);
      return undefined;
    }
    if (this.loaders === undefined) {
      throw new RuleError(
        'RUNTIME_LOADER_MISSING',
        `record ${name} is needed but no loader was given`,
      );
    }
    if (this.slots.size >= MAX_CROSS_REFERENCES) {
      throw new RuleError(
        'RUNTIME_CROSS_REFERENCE_LIMIT',
        `an evaluation may load at most ${MAX_CROSS_REFERENCES} records`,
      );
    }
    if (!roundsLeft) {
      throw new RuleError(
        'RUNTIME_LOAD_ROUNDS_EXCEEDED',
        `record ${name} needs more than ${maxRounds - 1} rounds of dependent loads (maxRuleIterations is ${maxRounds})`,
      );
    }
    const created = new Slot(name, round);
    this.slots.set(name, created);
    let answer: unknown;
    try {
      answer = this.loaders.loadRecord(name);
    } catch (error) {
      this.fail(created, error);
      throw this.loadError(created);
    }
    if (!isThenable(answer)) {
      this.settle(created, answer);
      return created.value;
    }
    this.pending ??= [];
    this.pending.push(
      Promise.resolve(answer).then(
        (value) => this.settle(created, value),
        (error: unknown) => this.fail(created, error),
      ),
    );
    return undefined;
  }

  private settle(slot: Slot, value: unknown): void {
    slot.state = LOADED;
    // Rules see a missing record as null, and never a function.
    slot.value = value === undefined || typeof value === 'function' ? null : value;
    this.trace?.push({
      kind: 'load',
      record: slot.name,
      round: slot.round,
      found: slot.value !== null,
    });
  }

  /** A failure surfaces only when a run reads the record, so a record fetched ahead but never needed cannot fail the evaluation. */
  private fail(slot: Slot, error: unknown): void {
    slot.state = FAILED;
    slot.error = error instanceof Error ? error.message : String(error);
    this.trace?.push({
      kind: 'load',
      record: slot.name,
      round: slot.round,
      found: false,
      error: slot.error,
    });
  }

  private loadError(slot: Slot): RuleError {
    return new RuleError(
      'RUNTIME_LOAD_ERROR',
      `record ${slot.name} could not be loaded: ${slot.error}`,
    );
  }
}
