import { RuleError } from '../errors.js';
import { MAX_CONCAT_LENGTH } from '../limits.js';
import { FORBIDDEN_MEMBERS } from './checker.js';
import { type CompiledRegex, compileDynamicRegex, runMatch } from './regex.js';

// Operations the compiled closures call. They read only own properties of
// plain values, never call a function found in data, and throw RuleError for
// the mistakes a rule can make at run time.

/** What compiled closures read from and call back into during one run of a rule. */
/** A compiled rule expression (expression/compiler.ts): its value in one evaluation's context. */
export type CompiledExpression = (c: RuntimeContext) => unknown;

export interface RuntimeContext {
  user: unknown;
  name: unknown;
  action: number;
  actionName: string;
  vars: readonly string[];
  now: number;
  data: unknown;
  dataReady: boolean;
  oldData: unknown;
  oldDataReady: boolean;
  resolveData(): unknown;
  resolveOldData(): unknown;
  crossReference(recordName: unknown): unknown;
  /** Trace mode only: counts one step and records a sub-expression's value. */
  traceValue(expression: string, value: unknown): void;
}

const hasOwn = Object.hasOwn;

export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  const type = typeof value;
  if (type === 'object') return 'an object';
  if (type === 'undefined') return 'undefined';
  return `a ${type}`;
}

function readNullish(value: unknown, key: string): never {
  throw new RuleError('RUNTIME_TYPE_ERROR', `cannot read '${key}' of ${String(value)}`);
}

function readString(value: string, key: string): unknown {
  if (key === 'length') return value.length;
  const index = Number(key);
  if (Number.isInteger(index) && index >= 0 && String(index) === key) return value[index];
  return undefined;
}

/** `o.key` for a key the checker already allowed. */
export function readMember(value: unknown, key: string): unknown {
  if (typeof value === 'object') {
    if (value === null) return readNullish(value, key);
    // Read first: a missing key (the common miss) then costs no own-property check.
    const found: unknown = (value as Record<string, unknown>)[key];
    if (found === undefined || typeof found === 'function') return undefined;
    return hasOwn(value, key) ? found : undefined;
  }
  if (typeof value === 'string') return readString(value, key);
  if (value === undefined) return readNullish(value, key);
  return undefined;
}

/** Turns a computed key into a property name, as JS does for the values rules see. */
export function toPropertyKey(key: unknown): string {
  if (typeof key === 'string') return key;
  if (typeof key === 'object' && key !== null) {
    throw new RuleError(
      'RUNTIME_TYPE_ERROR',
      `a computed key must be a string or a number, not ${describeValue(key)}`,
    );
  }
  return String(key);
}

/** `o[key]`: a key naming the prototype machinery reads as undefined. */
export function readComputed(value: unknown, rawKey: unknown): unknown {
  const key = toPropertyKey(rawKey);
  if (FORBIDDEN_MEMBERS.has(key)) {
    if (value === null || value === undefined) readNullish(value, key);
    return undefined;
  }
  return readMember(value, key);
}

/** `key in o`, limited to own properties. */
export function hasMember(rawKey: unknown, value: unknown): boolean {
  if (typeof value !== 'object' || value === null) {
    throw new RuleError(
      'RUNTIME_TYPE_ERROR',
      `'in' needs an object or array on its right, not ${describeValue(value)}`,
    );
  }
  const key = toPropertyKey(rawKey);
  return !FORBIDDEN_MEMBERS.has(key) && hasOwn(value, key);
}

/** `a + b`, refusing to build strings past MAX_CONCAT_LENGTH. */
export function add(a: unknown, b: unknown): unknown {
  // The casts only quiet the type checker: JS `+` on these values is the semantics we want.
  const result: unknown = (a as string) + (b as string);
  if (typeof result === 'string' && result.length > MAX_CONCAT_LENGTH) {
    throw new RuleError(
      'RUNTIME_STRING_TOO_LONG',
      `a string built with + may have at most ${MAX_CONCAT_LENGTH} characters`,
    );
  }
  return result;
}

function needString(method: string, value: unknown): string {
  if (typeof value === 'string') return value;
  throw new RuleError(
    'RUNTIME_TYPE_ERROR',
    `${method}() needs a string, not ${describeValue(value)}`,
  );
}

function stringArgument(method: string, value: unknown): string {
  if (typeof value === 'object' && value !== null) {
    throw new RuleError(
      'RUNTIME_TYPE_ERROR',
      `${method}() needs a string argument, not ${describeValue(value)}`,
    );
  }
  return String(value);
}

function positionArgument(value: unknown): number | undefined {
  return value === undefined ? undefined : Number(value);
}

export type MethodImpl = (receiver: unknown, a: unknown, b: unknown) => unknown;

export const METHOD_IMPLS: Readonly<Record<string, MethodImpl>> = {
  startsWith: (r, a, b) =>
    needString('startsWith', r).startsWith(stringArgument('startsWith', a), positionArgument(b)),
  endsWith: (r, a, b) =>
    needString('endsWith', r).endsWith(stringArgument('endsWith', a), positionArgument(b)),
  includes: (r, a, b) => {
    if (Array.isArray(r)) return r.includes(a, positionArgument(b));
    return needString('includes', r).includes(stringArgument('includes', a), positionArgument(b));
  },
  indexOf: (r, a, b) => {
    if (Array.isArray(r)) return r.indexOf(a, positionArgument(b));
    return needString('indexOf', r).indexOf(stringArgument('indexOf', a), positionArgument(b));
  },
  toUpperCase: (r) => needString('toUpperCase', r).toUpperCase(),
  toLowerCase: (r) => needString('toLowerCase', r).toLowerCase(),
  trim: (r) => needString('trim', r).trim(),
};

/** `s.match(x)` where x is not a literal: the string is compiled with RE2, remembered per call site. */
export function dynamicMatcher(): (receiver: unknown, pattern: unknown) => unknown {
  let lastSource: string | undefined;
  let lastRegex: CompiledRegex | undefined;
  return (receiver, pattern) => {
    const input = needString('match', receiver);
    const source = pattern === undefined ? '' : stringArgument('match', pattern);
    if (source !== lastSource || lastRegex === undefined) {
      const compiled = compileDynamicRegex(source);
      if (!compiled.ok) throw new RuleError('RUNTIME_REGEX_INVALID', compiled.message);
      lastSource = source;
      lastRegex = compiled.regex;
    }
    return runMatch(lastRegex, input);
  };
}

export function literalMatcher(regex: CompiledRegex): (receiver: unknown) => unknown {
  return (receiver) => runMatch(regex, needString('match', receiver));
}
