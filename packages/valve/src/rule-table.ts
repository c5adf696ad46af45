import { RULE_TYPES, type RuleType, type Section } from './actions.js';
import type { RuleUsage } from './expression/checker.js';
import type { CompiledExpression } from './expression/runtime.js';
import { RULE_CACHE_MAX_NAME_LENGTH, RULE_CACHE_SIZE } from './limits.js';
import type { CompiledPattern } from './pattern.js';
import type { EvaluationResult, RuleOutcome } from './types.js';

/** One rule of the file, compiled once. */
export interface CompiledRule {
  readonly section: Section;
  readonly type: RuleType;
  readonly pattern: CompiledPattern;
  /** Position of the pattern in its section; later patterns win ties. */
  readonly order: number;
  /** Set for `true` / `false` rules. */
  readonly constant: boolean | undefined;
  readonly evaluate: CompiledExpression;
  /** The same rule compiled to record sub-expression values; built on first use. */
  readonly traced: () => CompiledExpression;
  readonly usage: RuleUsage;
  /** Name expressions of `_()` calls that depend on no other record, loaded up front. */
  readonly prefetch: readonly CompiledExpression[];
  /** Shared, frozen results for the common single-rule outcomes. */
  readonly allowedResult: EvaluationResult;
  readonly deniedResult: EvaluationResult;
}

export interface RuleChoice {
  readonly rule: CompiledRule;
  readonly captures: readonly string[];
}

export function frozenResult(outcomes: readonly RuleOutcome[], allowed: boolean): EvaluationResult {
  return Object.freeze({
    verdict: allowed ? 'allowed' : 'denied',
    allowed,
    rules: Object.freeze(outcomes.map((o) => Object.freeze({ ...o }))),
  });
}

/**
 * Picks the rule for (section, type, name): among patterns that match the
 * name and define the type, the longest pattern string wins, a tie goes to
 * the later one (VALVE.md A.3). Choices are remembered per name, which is
 * safe because the table never changes; a new file means a new table.
 */
interface Slot {
  readonly candidates: readonly CompiledRule[];
  readonly cache: Map<string, RuleChoice | null>;
}

export class RuleTable {
  private readonly slots = new Map<Section, Map<RuleType, Slot>>();
  /**
   * Each rule's choice for the names it matches without capturing anything
   * (most names, under most rules): one object per rule in the cache, not
   * one per name (a client's 9,000 new names were 9,000 of them, all kept).
   */
  private readonly bare = new Map<CompiledRule, RuleChoice>();
  private cached = 0;

  constructor(rules: readonly CompiledRule[]) {
    for (const rule of rules)
      this.bare.set(rule, Object.freeze({ rule, captures: Object.freeze([]) }));
    const sections: Section[] = ['record', 'event', 'rpc', 'presence'];
    for (const section of sections) {
      const bySection = new Map<RuleType, Slot>();
      for (const type of RULE_TYPES[section]) {
        const candidates = rules
          .filter((r) => r.section === section && r.type === type)
          .sort((a, b) => b.pattern.source.length - a.pattern.source.length || b.order - a.order);
        bySection.set(type, { candidates, cache: new Map() });
      }
      this.slots.set(section, bySection);
    }
  }

  choose(section: Section, type: RuleType, name: string): RuleChoice | null {
    const slot = this.slots.get(section)?.get(type);
    if (slot === undefined) return null;
    const cached = slot.cache.get(name);
    if (cached !== undefined) return cached;
    let choice: RuleChoice | null = null;
    for (const rule of slot.candidates) {
      const captures = rule.pattern.match(name);
      if (captures !== null) {
        choice = captures.length === 0 ? this.bare.get(rule)! : { rule, captures };
        break;
      }
    }
    if (name.length <= RULE_CACHE_MAX_NAME_LENGTH) {
      // A full cache starts over; simpler than LRU and still bounded.
      if (this.cached >= RULE_CACHE_SIZE) this.clear();
      slot.cache.set(name, choice);
      this.cached++;
    }
    return choice;
  }

  private clear(): void {
    for (const bySection of this.slots.values()) {
      for (const slot of bySection.values()) slot.cache.clear();
    }
    this.cached = 0;
  }
}
