import {
  type CompileOptions,
  compilePermissions,
  type EvaluateOptions,
  type EvaluationResult,
  type Permissions,
  type Section,
  type ValveCheckError,
  type ValveLoaders,
  type ValveRequest,
} from '../src/index.js';

type Rules = Record<string, Record<string, boolean | string>>;

/** A file with every section's required "*" entry; `overrides` replaces whole sections. */
export function fileText(overrides: Partial<Record<Section, Rules>> = {}): string {
  const file = {
    record: {
      '*': { read: true, write: true, create: true, delete: true, listen: true, notify: true },
    },
    event: { '*': { publish: true, subscribe: true, listen: true } },
    rpc: { '*': { provide: true, request: true } },
    presence: { '*': { allow: true } },
    ...overrides,
  };
  return JSON.stringify(file, null, 2);
}

export function compileOk(text: string, options?: CompileOptions): Permissions {
  const result = compilePermissions(text, options);
  if (!result.ok) throw new Error(`expected a valid file: ${JSON.stringify(result.errors)}`);
  return result.permissions;
}

export function compileErrors(text: string, options?: CompileOptions): readonly ValveCheckError[] {
  const result = compilePermissions(text, options);
  if (result.ok) throw new Error('expected errors');
  return result.errors;
}

export const alice = { id: 'alice', isAuthenticated: true, data: { role: 'user' } };

/** The one rule `rule` as `section "*" type`, in an otherwise open file. */
export function singleRule(
  rule: string | boolean,
  where: { section?: Section; type?: string; pattern?: string } = {},
  options?: CompileOptions,
): Permissions {
  const section = where.section ?? 'record';
  const pattern = where.pattern ?? '*';
  const rules: Rules = { '*': {}, [pattern]: { [where.type ?? 'write']: rule } };
  return compileOk(fileText({ [section]: rules }), options);
}

/** Checks only the rule, returning the errors (empty when it compiles). */
export function ruleErrors(
  rule: string,
  where: { section?: Section; type?: string; pattern?: string } = {},
): readonly ValveCheckError[] {
  const section = where.section ?? 'record';
  const pattern = where.pattern ?? '*';
  const text = fileText({ [section]: { '*': {}, [pattern]: { [where.type ?? 'write']: rule } } });
  const result = compilePermissions(text);
  return result.ok ? [] : result.errors;
}

/** Evaluates `rule` as a record write on `name` (default `thing`) with the given request fields. */
export async function evalRule(
  rule: string,
  request: Partial<ValveRequest> = {},
  loaders?: ValveLoaders,
  options?: EvaluateOptions & CompileOptions,
): Promise<EvaluationResult> {
  const permissions = singleRule(rule, {}, options);
  return permissions.evaluate(
    { section: 'record', action: 'write', name: 'thing', user: alice, ...request },
    loaders,
    options,
  );
}

/** What a rule evaluates to, for expression-semantics tests. */
export async function ruleValue(
  rule: string,
  request: Partial<ValveRequest> = {},
): Promise<unknown> {
  const result = await evalRule(rule, request);
  if (result.verdict === 'error')
    throw new Error(`${result.error?.code}: ${result.error?.message}`);
  return result.rules[0]?.result;
}

export function mapLoader(
  records: Record<string, unknown>,
  mode: 'sync' | 'async' = 'async',
): ValveLoaders & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    loadRecord(name: string) {
      calls.push(name);
      const value = Object.hasOwn(records, name) ? records[name] : null;
      return mode === 'sync' ? value : Promise.resolve(value);
    },
  };
}
