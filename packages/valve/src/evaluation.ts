import {
  type ActionPlan,
  isSection,
  type RuleStep,
  resolveAction,
  type Section,
} from './actions.js';
import { RuleError, toRuntimeError, type ValveRuntimeError } from './errors.js';
import { describeValue, type RuntimeContext } from './expression/runtime.js';
import { MAX_CROSS_REFERENCES, MAX_EVALUATION_STEPS, TRACE_VALUE_MAX_LENGTH } from './limits.js';
import { applyPatch } from './patch.js';
import type { CompiledRule, RuleChoice, RuleTable } from './rule-table.js';
import type {
  EvaluateOptions,
  EvaluationResult,
  RuleOutcome,
  TraceEntry,
  ValveLoaders,
  ValveRequest,
} from './types.js';

export interface EvaluationSetup {
  readonly table: RuleTable;
  readonly maxRuleIterations: number;
}

interface RecordSlot {
  state: 'loaded' | 'pending' | 'failed';
  value: unknown;
}

const NO_CAPTURES: readonly string[] = Object.freeze([]);

const NOT_PERMISSIONED: EvaluationResult = Object.freeze({
  verdict: 'allowed',
  allowed: true,
  rules: Object.freeze([]),
});

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

/** What a loader answered, as rules see it: missing records are null, never undefined. */
function asRecordData(value: unknown): unknown {
  return value === undefined || typeof value === 'function' ? null : value;
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
  private records: Map<string, RecordSlot> | null = null;
  private pending: Promise<void>[] | null = null;
  private round = 1;
  private stepIndex = 0;
  private choice: RuleChoice | null | undefined = undefined;
  private outcomes: RuleOutcome[] | null = null;
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
    const section = this.request.section;
    const pattern = choice === null ? null : choice.rule.pattern.source;
    trace.push({
      kind: 'rule',
      section,
      type: step.type,
      pattern,
      action: step.action,
      actionName: step.actionName,
    });
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
    return this.loadRecord(recordName);
  }

  resolveOldData(): unknown {
    const value = this.recordName === undefined ? null : this.loadRecord(this.recordName);
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
   * The record's data, null when missing, or undefined while its load is in
   * flight. Loads for a rule count against maxRuleIterations; the existence
   * check of SUBSCRIBECREATEANDREAD happens before any rule runs and does not.
   */
  private loadRecord(name: string, counted = true): unknown {
    if (name === this.recordName && this.request.oldData !== undefined) return this.request.oldData;
    this.records ??= new Map();
    const records = this.records;
    const slot = records.get(name);
    if (slot !== undefined) {
      if (slot.state === 'failed')
        throw new RuleError('RUNTIME_LOAD_ERROR', `record ${name} could not be loaded`);
      return slot.state === 'loaded' ? slot.value : undefined;
    }
    const loaders = this.loaders;
    if (loaders === undefined) {
      throw new RuleError(
        'RUNTIME_LOADER_MISSING',
        `record ${name} is needed but no loader was given`,
      );
    }
    if (records.size >= MAX_CROSS_REFERENCES) {
      throw new RuleError(
        'RUNTIME_CROSS_REFERENCE_LIMIT',
        `an evaluation may load at most ${MAX_CROSS_REFERENCES} records`,
      );
    }
    const max = this.setup.maxRuleIterations;
    if (counted && this.round >= max) {
      throw new RuleError(
        'RUNTIME_LOAD_ROUNDS_EXCEEDED',
        `record ${name} needs more than ${max - 1} rounds of dependent loads (maxRuleIterations is ${max})`,
      );
    }
    const round = this.round;
    const newSlot: RecordSlot = { state: 'pending', value: undefined };
    records.set(name, newSlot);
    const loaded = (value: unknown): void => {
      newSlot.state = 'loaded';
      newSlot.value = asRecordData(value);
      this.trace?.push({ kind: 'load', record: name, round, found: newSlot.value !== null });
    };
    const failed = (error: unknown): RuleError => {
      newSlot.state = 'failed';
      const detail = error instanceof Error ? error.message : String(error);
      this.trace?.push({ kind: 'load', record: name, round, found: false, error: detail });
      // The failure surfaces when a run reads the record, so a record fetched
      // ahead of time but never needed cannot fail the evaluation.
      return new RuleError('RUNTIME_LOAD_ERROR', `record ${name} could not be loaded: ${detail}`);
    };
    let answer: unknown;
    try {
      answer = loaders.loadRecord(name);
    } catch (error) {
      throw failed(error);
    }
    if (!isThenable(answer)) {
      loaded(answer);
      return newSlot.value;
    }
    this.pending ??= [];
    this.pending.push(
      Promise.resolve(answer).then(loaded, (error: unknown) => {
        failed(error);
      }),
    );
    return undefined;
  }

  /** Runs the plan's steps from where it stopped; pauses only to wait for loads. */
  advance(): EvaluationResult | Promise<EvaluationResult> {
    const steps = this.plan.steps;
    try {
      while (this.stepIndex < steps.length) {
        const step = steps[this.stepIndex]!;
        this.pending = null;
        if (step.onlyIfMissing && this.choice === undefined) {
          const existing =
            this.recordName === undefined ? null : this.loadRecord(this.recordName, false);
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
          this.outcome({
            section: this.request.section,
            pattern: null,
            type: step.type,
            verdict: 'denied',
          });
          return this.finish(undefined);
        }
        const value = this.runRule(choice.rule);
        if (this.pending !== null) return this.wait();
        if (value === RUN_FAILED) return this.finish(this.runError);
        const verdict = value === true ? 'allowed' : 'denied';
        this.outcome({ ...this.ruleRef(choice.rule), verdict, result: value });
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
      if (this.pending !== null) return undefined;
      this.runError = toRuntimeError(error);
      this.outcome({ ...this.ruleRef(rule), verdict: 'error' });
      return RUN_FAILED;
    }
  }

  /**
   * Starts the loads of `_()` calls whose names depend on no other record, so
   * independent references share the first round instead of using one round
   * each (a miss would stop the run at the first `.field` of a pending load).
   * Speculative: errors here are ignored and resurface if the rule needs them.
   */
  private prefetch(rule: CompiledRule): void {
    for (const nameOf of rule.prefetch) {
      const pendingBefore = this.pending?.length ?? 0;
      try {
        const recordName = nameOf(this);
        // A name computed from a value still loading (a patched `data`) is not the real name.
        if (typeof recordName === 'string' && (this.pending?.length ?? 0) === pendingBefore) {
          this.loadRecord(recordName);
        }
      } catch {
        // The rule's own run reports whatever matters.
      }
    }
  }

  private ruleRef(rule: CompiledRule): Pick<RuleOutcome, 'section' | 'pattern' | 'type'> {
    return { section: rule.section, pattern: rule.pattern.source, type: rule.type };
  }

  private outcome(outcome: RuleOutcome): void {
    this.outcomes ??= [];
    this.outcomes.push(outcome);
    if (this.trace !== null) {
      const { type, pattern, verdict } = outcome;
      this.trace.push({
        kind: 'result',
        type,
        pattern,
        verdict,
        ...('result' in outcome ? { result: outcome.result } : {}),
      });
    }
  }

  private wait(): Promise<EvaluationResult> {
    const loads = this.pending ?? [];
    this.pending = null;
    if (this.choice !== undefined) this.round++;
    return Promise.all(loads).then(() => this.advance());
  }

  private finish(error: ValveRuntimeError | undefined): EvaluationResult {
    const outcomes = this.outcomes ?? [];
    const allowed = error === undefined && outcomes.every((o) => o.verdict === 'allowed');
    const verdict = error !== undefined ? 'error' : allowed ? 'allowed' : 'denied';
    return {
      verdict,
      allowed,
      rules: outcomes,
      ...(error === undefined ? {} : { error }),
      ...(this.trace === null ? {} : { trace: this.trace }),
    };
  }
}

const RUN_FAILED: unique symbol = Symbol('run-failed');

function invalidRequest(message: string): EvaluationResult {
  return {
    verdict: 'error',
    allowed: false,
    rules: [],
    error: { code: 'REQUEST_INVALID', message },
  };
}

/** Checks the request's shape; the realtime node passes typed data, the CLI and fuzzers may not. */
function resolveRequest(request: ValveRequest): ActionPlan | string {
  if (typeof request !== 'object' || request === null) return 'the request must be an object';
  const section: unknown = request.section;
  if (!isSection(section))
    return `unknown section ${String(section)}; use record, event, rpc or presence`;
  const action: unknown = request.action;
  if (typeof action !== 'string' && typeof action !== 'number') {
    return 'action must be a rule type, a protocol action name or its number';
  }
  const path: unknown = request.path;
  if (path !== undefined && typeof path !== 'string') return 'path must be a string';
  const plan = resolveAction(section, action, path !== undefined);
  if (plan === undefined) return `unknown action ${String(action)} for section ${section}`;
  if (typeof request.user !== 'object' || request.user === null) {
    return 'user must be an object { id, isAuthenticated, data }';
  }
  if (request.now !== undefined && typeof request.now !== 'number') return 'now must be a number';
  if (path === undefined && plan.steps.some((s) => s.patch)) return `${plan.name} needs a path`;
  return plan;
}

/** Presence *_ALL queries have no name; everything else must name something. */
function requestName(section: Section, plan: ActionPlan, name: unknown): string | undefined | null {
  if (section === 'presence' && (plan.name === 'QUERY_ALL' || plan.name === 'SUBSCRIBE_ALL')) {
    return undefined;
  }
  return typeof name === 'string' ? name : null;
}

const noRuleResults = new Map<string, EvaluationResult>();

function noRule(section: Section, type: RuleOutcome['type']): EvaluationResult {
  const key = `${section}:${type}`;
  let result = noRuleResults.get(key);
  if (result === undefined) {
    const outcome = Object.freeze({ section, pattern: null, type, verdict: 'denied' as const });
    result = Object.freeze({ verdict: 'denied', allowed: false, rules: Object.freeze([outcome]) });
    noRuleResults.set(key, result);
  }
  return result;
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
    const outcome: RuleOutcome = {
      section: rule.section,
      pattern: rule.pattern.source,
      type: rule.type,
      verdict: 'error',
    };
    return { verdict: 'error', allowed: false, rules: [outcome], error: toRuntimeError(error) };
  }
  if (value === true) return rule.allowedResult;
  if (value === false) return rule.deniedResult;
  const outcome: RuleOutcome = {
    section: rule.section,
    pattern: rule.pattern.source,
    type: rule.type,
    verdict: 'denied',
    result: value,
  };
  return { verdict: 'denied', allowed: false, rules: [outcome] };
}
