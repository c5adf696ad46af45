import type { ActionPlan, RuleStep } from './actions.js';
import { RuleError, toRuntimeError, type ValveRuntimeError } from './errors.js';
import { describeValue, type RuntimeContext } from './expression/runtime.js';
import { MAX_EVALUATION_STEPS, TRACE_VALUE_MAX_LENGTH } from './limits.js';
import { applyPatch } from './patch.js';
import { RecordCache } from './record-cache.js';
import {
  invalidRequest,
  NOT_PERMISSIONED,
  noRule,
  requestName,
  resolveRequest,
} from './request.js';
import type { CompiledRule, RuleChoice, RuleTable } from './rule-table.js';
import type {
  EvaluateOptions,
  EvaluationResult,
  RuleOutcome,
  TraceEntry,
  ValveLoaders,
  ValveRequest,
  Verdict,
} from './types.js';

export interface EvaluationSetup {
  readonly table: RuleTable;
  readonly maxRuleIterations: number;
}

const NO_CAPTURES: readonly string[] = Object.freeze([]);
const RUN_FAILED: unique symbol = Symbol('run-failed');

function outcomeOf(rule: CompiledRule, verdict: Verdict, result: unknown): RuleOutcome {
  const { section, type } = rule;
  const pattern = rule.pattern.source;
  return verdict === 'error'
    ? { section, pattern, type, verdict }
    : { section, pattern, type, verdict, result };
}

function traceable(value: unknown): { type: string; value?: unknown } {
  const type = value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;
  if (value === undefined) return { type };
  if (typeof value === 'string' && value.length > TRACE_VALUE_MAX_LENGTH) {
    return { type, value: `${value.slice(0, TRACE_VALUE_MAX_LENGTH)}…` };
  }
  return { type, value };
}

/** One request's evaluation; also the context the compiled rules read from. */
class Evaluation implements RuntimeContext {
  user: unknown;
  name: unknown;
  action = 0;
  actionName = '';
  vars: readonly string[] = NO_CAPTURES;
  now = 0;
  data: unknown = undefined;
  dataReady = true;
  oldData: unknown;
  oldDataReady: boolean;

  readonly trace: TraceEntry[] | null;
  private records: RecordCache | null = null;
  private round = 1;
  private stepIndex = 0;
  private choice: RuleChoice | null | undefined = undefined;
  private outcomes: RuleOutcome[] = [];
  private runError: ValveRuntimeError | undefined = undefined;
  private steps = 0;

  constructor(
    private readonly setup: EvaluationSetup,
    private readonly request: ValveRequest,
    private readonly plan: ActionPlan,
    private readonly recordName: string | undefined,
    private readonly loaders: ValveLoaders | undefined,
    traced: boolean,
  ) {
    this.user = request.user;
    this.name = recordName;
    this.oldData = request.oldData;
    this.oldDataReady = request.oldData !== undefined;
    this.trace = traced ? [] : null;
  }

  /** Binds the variables a step's rule sees. */
  enterStep(step: RuleStep, choice: RuleChoice | null): void {
    this.action = step.action;
    this.actionName = step.actionName;
    this.vars = choice === null ? NO_CAPTURES : choice.captures;
    this.dataReady = !step.patch;
    this.data = step.patch ? undefined : this.request.data;
    this.round = 1;
    const trace = this.trace;
    if (trace === null) return;
    const { section } = this.request;
    const pattern = choice === null ? null : choice.rule.pattern.source;
    const { type, action, actionName } = step;
    trace.push({ kind: 'rule', section, type, pattern, action, actionName });
    if (choice === null) return;
    trace.push({ kind: 'bind', variable: 'user', value: this.user });
    trace.push({ kind: 'bind', variable: 'name', value: this.recordName });
    trace.push({ kind: 'bind', variable: 'action', value: step.action });
    choice.rule.pattern.variables.forEach((variable, i) => {
      trace.push({ kind: 'bind', variable, value: choice.captures[i] });
    });
  }

  traceValue(expression: string, value: unknown): void {
    if (this.trace === null) return;
    if (++this.steps > MAX_EVALUATION_STEPS) {
      throw new RuleError(
        'RUNTIME_STEP_LIMIT',
        `an evaluation may take at most ${MAX_EVALUATION_STEPS} steps`,
      );
    }
    this.trace.push({ kind: 'value', round: this.round, expression, ...traceable(value) });
  }

  crossReference(recordName: unknown): unknown {
    if (typeof recordName !== 'string') {
      throw new RuleError(
        'RUNTIME_CROSS_REFERENCE_TYPE',
        `_() needs a record name string, not ${describeValue(recordName)}`,
      );
    }
    return this.loadRecord(recordName, true);
  }

  resolveOldData(): unknown {
    const value = this.recordName === undefined ? null : this.loadRecord(this.recordName, true);
    if (value === undefined) return undefined;
    this.oldData = value;
    this.oldDataReady = true;
    return value;
  }

  resolveData(): unknown {
    const base = this.resolveOldData();
    if (base === undefined) return undefined;
    if (base === null) {
      throw new RuleError(
        'RUNTIME_PATCH_MISSING_RECORD',
        `cannot apply a patch to ${String(this.recordName)}: the record does not exist`,
      );
    }
    this.data = applyPatch(base, this.request.path ?? '', this.request.data);
    this.dataReady = true;
    return this.data;
  }

  /**
   * Loads for a rule count against maxRuleIterations; the existence check of
   * SUBSCRIBECREATEANDREAD happens before any rule runs and does not.
   */
  private loadRecord(name: string, counted: boolean): unknown {
    if (name === this.recordName && this.request.oldData !== undefined) return this.request.oldData;
    this.records ??= new RecordCache(this.loaders, this.trace);
    const max = this.setup.maxRuleIterations;
    return this.records.get(name, !counted || this.round < max, this.round, max);
  }

  private get pendingCount(): number {
    return this.records === null ? 0 : this.records.pendingCount;
  }

  /** Runs the plan's steps from where it stopped; pauses only to wait for loads. */
  advance(): EvaluationResult | Promise<EvaluationResult> {
    const steps = this.plan.steps;
    try {
      while (this.stepIndex < steps.length) {
        const step = steps[this.stepIndex]!;
        if (step.onlyIfMissing && this.choice === undefined) {
          const name = this.recordName;
          const existing = name === undefined ? null : this.loadRecord(name, false);
          if (existing === undefined) return this.wait();
          if (existing !== null) {
            this.trace?.push({ kind: 'skip', type: step.type, reason: 'the record exists' });
            this.stepIndex++;
            continue;
          }
        }
        if (this.choice === undefined) {
          this.choice = this.setup.table.choose(
            this.request.section,
            step.type,
            this.recordName ?? '',
          );
          this.enterStep(step, this.choice);
        }
        const choice = this.choice;
        if (choice === null) {
          this.record({
            section: this.request.section,
            pattern: null,
            type: step.type,
            verdict: 'denied',
          });
          return this.finish(undefined);
        }
        const value = this.runRule(choice.rule);
        if (this.pendingCount > 0) return this.wait();
        if (value === RUN_FAILED) return this.finish(this.runError);
        const verdict = value === true ? 'allowed' : 'denied';
        this.record(outcomeOf(choice.rule, verdict, value));
        if (verdict === 'denied') return this.finish(undefined);
        this.stepIndex++;
        this.choice = undefined;
      }
      return this.finish(undefined);
    } catch (error) {
      return this.finish(toRuntimeError(error));
    }
  }

  private runRule(rule: CompiledRule): unknown {
    if (rule.usage.now) this.now = this.request.now ?? Date.now();
    if (this.round === 1 && rule.prefetch.length > 0) this.prefetch(rule);
    try {
      return (this.trace === null ? rule.evaluate : rule.traced())(this);
    } catch (error) {
      // While loads are in flight, errors come from values not loaded yet; the rule runs again.
      if (this.pendingCount > 0) return undefined;
      this.runError = toRuntimeError(error);
      this.record(outcomeOf(rule, 'error', undefined));
      return RUN_FAILED;
    }
  }

  /**
   * Starts the loads of `_()` calls whose names depend on no other record, so
   * independent references share the first round instead of using one round
   * each (a run stops at the first `.field` of a record still loading).
   * Speculative: errors here are ignored and resurface if the rule needs them.
   */
  private prefetch(rule: CompiledRule): void {
    for (const nameOf of rule.prefetch) {
      const pendingBefore = this.pendingCount;
      try {
        const recordName = nameOf(this);
        // A name computed from a value still loading (a patched `data`) is not the real name.
        if (typeof recordName === 'string' && this.pendingCount === pendingBefore) {
          this.loadRecord(recordName, true);
        }
      } catch {
        // The rule's own run reports whatever matters.
      }
    }
  }

  private record(outcome: RuleOutcome): void {
    this.outcomes.push(outcome);
    if (this.trace === null) return;
    const { type, pattern, verdict } = outcome;
    const entry: TraceEntry =
      'result' in outcome
        ? { kind: 'result', type, pattern, verdict, result: outcome.result }
        : { kind: 'result', type, pattern, verdict };
    this.trace.push(entry);
  }

  private wait(): Promise<EvaluationResult> {
    const loads = this.records === null ? [] : this.records.takePending();
    if (this.choice !== undefined) this.round++;
    return Promise.all(loads).then(() => this.advance());
  }

  private finish(error: ValveRuntimeError | undefined): EvaluationResult {
    const rules = this.outcomes;
    const allowed = error === undefined && rules.every((o) => o.verdict === 'allowed');
    const verdict = error !== undefined ? 'error' : allowed ? 'allowed' : 'denied';
    const result: { -readonly [K in keyof EvaluationResult]: EvaluationResult[K] } = {
      verdict,
      allowed,
      rules,
    };
    if (error !== undefined) result.error = error;
    if (this.trace !== null) result.trace = this.trace;
    return result;
  }
}

/** Evaluates one request. Synchronous unless a record has to be loaded asynchronously. */
export function evaluateRequest(
  setup: EvaluationSetup,
  request: ValveRequest,
  loaders: ValveLoaders | undefined,
  options: EvaluateOptions | undefined,
): EvaluationResult | Promise<EvaluationResult> {
  try {
    const plan = resolveRequest(request);
    if (typeof plan === 'string') return invalidRequest(plan);
    const name = requestName(request.section, plan, request.name);
    if (name === null) return invalidRequest('name must be a string');
    const steps = plan.steps;
    if (steps.length === 0) return NOT_PERMISSIONED;
    const traced = options?.trace === true;
    if (!traced && steps.length === 1) {
      const fast = evaluateSimple(setup, request, plan, name, loaders);
      if (fast !== undefined) return fast;
    }
    return new Evaluation(setup, request, plan, name, loaders, traced).advance();
  } catch (error) {
    return { verdict: 'error', allowed: false, rules: [], error: toRuntimeError(error) };
  }
}

/**
 * The fast path: one rule, no loads, no trace. Answers with shared frozen
 * results for true and false, so a typical evaluation allocates one context.
 */
function evaluateSimple(
  setup: EvaluationSetup,
  request: ValveRequest,
  plan: ActionPlan,
  name: string | undefined,
  loaders: ValveLoaders | undefined,
): EvaluationResult | undefined {
  const step = plan.steps[0]!;
  const choice = setup.table.choose(request.section, step.type, name ?? '');
  if (choice === null) return noRule(request.section, step.type);
  const rule = choice.rule;
  if (rule.constant !== undefined) return rule.constant ? rule.allowedResult : rule.deniedResult;
  const usage = rule.usage;
  const needsLoad =
    usage.crossReference ||
    (usage.oldData && request.oldData === undefined) ||
    (step.patch && usage.data);
  if (needsLoad) return undefined;
  const context = new Evaluation(setup, request, plan, name, loaders, false);
  context.enterStep(step, choice);
  if (usage.now) context.now = request.now ?? Date.now();
  let value: unknown;
  try {
    value = rule.evaluate(context);
  } catch (error) {
    const rules = [outcomeOf(rule, 'error', undefined)];
    return { verdict: 'error', allowed: false, rules, error: toRuntimeError(error) };
  }
  if (value === true) return rule.allowedResult;
  if (value === false) return rule.deniedResult;
  return { verdict: 'denied', allowed: false, rules: [outcomeOf(rule, 'denied', value)] };
}
