import { isSection, type RuleType, resolveAction, SECTIONS, type Section } from './actions.js';
import { ExpressionError, type ValveCheckError } from './errors.js';
import { type EvaluationSetup, evaluateRequest } from './evaluation.js';
import { children, type Node } from './expression/ast.js';
import { checkExpression, type RuleUsage } from './expression/checker.js';
import { compileExpression } from './expression/compiler.js';
import { parseExpression } from './expression/parser.js';
import type { CompiledExpression } from './expression/runtime.js';
import { type FileProblem, readPermissionsFile, type SourceRule } from './file/permissions-file.js';
import { DEFAULT_MAX_RULE_ITERATIONS, MAX_RULE_ITERATIONS_LIMIT } from './limits.js';
import { lineIndex } from './line-index.js';
import { type CompiledPattern, compilePattern } from './pattern.js';
import { type CompiledRule, frozenResult, RuleTable } from './rule-table.js';
import type { EvaluateOptions, EvaluationResult, ValveLoaders, ValveRequest } from './types.js';

export interface CompileOptions {
  /** Runs of one rule, hence dependent load rounds + 1; default 3, as deepstream. */
  readonly maxRuleIterations?: number | undefined;
}

export interface PermissionStats {
  readonly patterns: number;
  readonly rules: number;
}

/** A checked, compiled permissions file. Immutable; compile a new one to change rules. */
export class Permissions {
  readonly stats: PermissionStats;
  readonly maxRuleIterations: number;
  private readonly setup: EvaluationSetup;

  /** @internal Use compilePermissions(). */
  constructor(rules: readonly CompiledRule[], stats: PermissionStats, maxRuleIterations: number) {
    this.stats = stats;
    this.maxRuleIterations = maxRuleIterations;
    this.setup = { table: new RuleTable(rules), maxRuleIterations };
  }

  /**
   * Decides one request. Returns the result directly when no record has to be
   * loaded asynchronously, else a promise; `await` works on both. Never throws.
   */
  evaluate(
    request: ValveRequest,
    loaders?: ValveLoaders,
    options?: EvaluateOptions,
  ): EvaluationResult | Promise<EvaluationResult> {
    return evaluateRequest(this.setup, request, loaders, options);
  }

  /**
   * Whether deciding (section, action, name) may load a record through the
   * loaders: a rule that reads another record (`_()`) or the stored one
   * (`oldData`, or `data` of a patch), or a step that runs only when the
   * record is missing. A caller with a costly loader to prepare skips it
   * when this is false. Answers from the same per-name cache of rule
   * choices as evaluate(); an action it does not know answers true (the
   * evaluation then reports it).
   */
  mayLoad(section: Section, action: string | number, name: string, hasPath = false): boolean {
    const plan = isSection(section) ? resolveAction(section, action, hasPath) : undefined;
    if (plan === undefined) return true;
    const steps = plan.steps;
    for (let i = 0; i < steps.length; i++) {
      const step = steps[i]!;
      if (step.onlyIfMissing) return true;
      const rule = this.setup.table.choose(section, step.type, name)?.rule;
      if (rule === undefined || rule.constant !== undefined) continue;
      const usage = rule.usage;
      if (usage.crossReference || usage.oldData || (step.patch && usage.data)) return true;
    }
    return false;
  }

  /** The pattern that decides (section, type, name), or null when none does (denied). */
  ruleFor(section: Section, type: RuleType, name: string): string | null {
    return this.setup.table.choose(section, type, name)?.rule.pattern.source ?? null;
  }
}

export type CompileResult =
  | { readonly ok: true; readonly permissions: Permissions; readonly errors: readonly [] }
  | { readonly ok: false; readonly errors: readonly ValveCheckError[] };

const NO_USAGE: RuleUsage = Object.freeze({
  data: false,
  oldData: false,
  now: false,
  crossReference: false,
});

function compileRule(
  section: Section,
  pattern: CompiledPattern,
  order: number,
  source: SourceRule,
  problems: FileProblem[],
): CompiledRule | undefined {
  const { type, value } = source;
  const base = { section, type, pattern, order };
  const ref = { section, pattern: pattern.source, type };
  const results = {
    allowedResult: frozenResult([{ ...ref, verdict: 'allowed', result: true }], true),
    deniedResult: frozenResult([{ ...ref, verdict: 'denied', result: false }], false),
  };
  if (typeof value === 'boolean') {
    const constant: CompiledExpression = () => value;
    return {
      ...base,
      ...results,
      constant: value,
      evaluate: constant,
      traced: () => constant,
      usage: NO_USAGE,
      prefetch: [],
    };
  }
  const path = [section, pattern.source, type];
  const report = (e: ExpressionError): void => {
    const start = source.offsets(e.start);
    const end = Math.max(start + 1, source.offsets(Math.max(e.start, e.end - 1)) + 1);
    problems.push({ code: e.code, message: e.message, start, end, path });
  };
  let ast: ReturnType<typeof parseExpression>;
  try {
    ast = parseExpression(value);
  } catch (error) {
    if (error instanceof ExpressionError) {
      report(error);
      return undefined;
    }
    throw error;
  }
  const checked = checkExpression(ast, { section, type, variables: pattern.variableIndex });
  if (checked.errors.length > 0) {
    for (const error of checked.errors) report(error);
    return undefined;
  }
  const options = { variables: pattern.variableIndex, source: value };
  let traced: CompiledExpression | undefined;
  return {
    ...base,
    ...results,
    constant: undefined,
    evaluate: compileExpression(ast, { ...options, traced: false }),
    traced: () => {
      traced ??= compileExpression(ast, { ...options, traced: true });
      return traced;
    },
    usage: checked.usage,
    prefetch: independentReferences(ast).map((arg) =>
      compileExpression(arg, { ...options, traced: false }),
    ),
  };
}

/** Arguments of `_()` calls that read no record themselves (no nested `_()`, no oldData). */
function independentReferences(root: Node): Node[] {
  const found: Node[] = [];
  const readsRecords = (node: Node): boolean =>
    (node.kind === 'identifier' && node.name === 'oldData') ||
    (node.kind === 'call' && node.callee.kind === 'identifier' && node.callee.name === '_') ||
    children(node).some(readsRecords);
  const visit = (node: Node): void => {
    if (node.kind === 'call' && node.callee.kind === 'identifier' && node.callee.name === '_') {
      const arg = node.args[0];
      if (arg !== undefined && !readsRecords(arg)) found.push(arg);
    }
    for (const child of children(node)) visit(child);
  };
  visit(root);
  return found;
}

/** Checks and compiles a permissions file (YAML or JSON text). Reports every error it finds. */
export function compilePermissions(text: string, options: CompileOptions = {}): CompileResult {
  const problems: FileProblem[] = [];
  const maxRuleIterations = options.maxRuleIterations ?? DEFAULT_MAX_RULE_ITERATIONS;
  if (
    !Number.isInteger(maxRuleIterations) ||
    maxRuleIterations < 1 ||
    maxRuleIterations > MAX_RULE_ITERATIONS_LIMIT
  ) {
    problems.push({
      code: 'OPTION_INVALID',
      message: `maxRuleIterations must be a whole number from 1 to ${MAX_RULE_ITERATIONS_LIMIT}`,
      start: 0,
      end: 0,
      path: [],
    });
  }
  const read = typeof text === 'string' ? readPermissionsFile(text) : undefined;
  if (read === undefined) {
    problems.push({
      code: 'FILE_NOT_OBJECT',
      message: 'the permissions file must be text',
      start: 0,
      end: 0,
      path: [],
    });
  } else problems.push(...read.problems);
  const rules: CompiledRule[] = [];
  let patternCount = 0;
  if (read?.file !== undefined) {
    for (const section of SECTIONS) {
      read.file[section].forEach((entry, order) => {
        patternCount++;
        const pattern = compilePattern(entry.pattern);
        for (const source of entry.rules) {
          const rule = compileRule(section, pattern, order, source, problems);
          if (rule !== undefined) rules.push(rule);
        }
      });
    }
  }
  if (problems.length > 0)
    return { ok: false, errors: toCheckErrors(typeof text === 'string' ? text : '', problems) };
  const permissions = new Permissions(
    rules,
    { patterns: patternCount, rules: rules.length },
    maxRuleIterations,
  );
  return { ok: true, permissions, errors: [] };
}

function toCheckErrors(text: string, problems: readonly FileProblem[]): ValveCheckError[] {
  const position = lineIndex(text);
  return [...problems]
    .sort((a, b) => a.start - b.start)
    .map((p) => {
      const start = position(p.start);
      const end = position(p.end);
      return {
        code: p.code,
        message: p.message,
        line: start.line,
        column: start.column,
        endLine: end.line,
        endColumn: end.column,
        path: p.path,
      };
    });
}

export interface CheckReport {
  readonly ok: boolean;
  readonly errors: readonly ValveCheckError[];
  /** Counts for a valid file; zero when it is invalid. */
  readonly stats: PermissionStats;
}

/** Validates a permissions file without keeping the compiled result: what an upload endpoint needs. */
export function check(text: string, options: CompileOptions = {}): CheckReport {
  const result = compilePermissions(text, options);
  if (result.ok) return { ok: true, errors: [], stats: result.permissions.stats };
  return { ok: false, errors: result.errors, stats: { patterns: 0, rules: 0 } };
}
