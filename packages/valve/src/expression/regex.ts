import { RE2JS } from 're2js';
import { RuleError } from '../errors.js';
import {
  MAX_DYNAMIC_REGEX_LENGTH,
  MAX_MATCH_INPUT_LENGTH,
  MAX_REGEX_PROGRAM_SIZE,
  MAX_REGEX_WORK,
} from '../limits.js';

// Every regular expression a rule can run goes through RE2 (linear time), so
// no pattern and input can block the event loop with backtracking.

export interface CompiledRegex {
  readonly re: RE2JS;
  readonly global: boolean;
  readonly programSize: number;
}

export type RegexResult = { ok: true; regex: CompiledRegex } | { ok: false; message: string };

const FLAG_BITS: Record<string, number> = {
  i: RE2JS.CASE_INSENSITIVE,
  m: RE2JS.MULTILINE,
  s: RE2JS.DOTALL,
  g: 0,
  u: 0,
};

/** Compiles JS regex source and flags with RE2; lookaround and backreferences are refused. */
export function compileRegex(source: string, flags: string): RegexResult {
  let bits = 0;
  for (const flag of flags) {
    const bit = FLAG_BITS[flag];
    if (bit === undefined) return { ok: false, message: `regex flag '${flag}' is not supported` };
    if (flags.indexOf(flag) !== flags.lastIndexOf(flag)) {
      return { ok: false, message: `regex flag '${flag}' is repeated` };
    }
    bits |= bit;
  }
  try {
    const re = RE2JS.compile(RE2JS.translateRegExp(source), bits);
    const programSize = re.programSize();
    if (programSize > MAX_REGEX_PROGRAM_SIZE) {
      return {
        ok: false,
        message: `regular expression too complex (${programSize} steps, at most ${MAX_REGEX_PROGRAM_SIZE}); large {n} repeats count n times`,
      };
    }
    return { ok: true, regex: { re, global: flags.includes('g'), programSize } };
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    return {
      ok: false,
      message: `invalid or unsupported regular expression (${detail}); rules use a linear-time engine without lookaround or backreferences`,
    };
  }
}

/** A regex built from a string value at run time, as `'abc'.match(data.pattern)` does. */
export function compileDynamicRegex(source: string): RegexResult {
  if (source.length > MAX_DYNAMIC_REGEX_LENGTH) {
    return {
      ok: false,
      message: `a regular expression built at run time may have at most ${MAX_DYNAMIC_REGEX_LENGTH} characters`,
    };
  }
  return compileRegex(source, '');
}

/**
 * String.prototype.match semantics on RE2, returning plain arrays only: the
 * match and its groups, or every match with `g`, or null.
 */
export function runMatch(regex: CompiledRegex, input: string): (string | undefined)[] | null {
  if (input.length > MAX_MATCH_INPUT_LENGTH) {
    throw new RuleError(
      'RUNTIME_REGEX_LIMIT',
      `match() searches strings of at most ${MAX_MATCH_INPUT_LENGTH} characters`,
    );
  }
  // Whether it matches is cheap (a DFA); the match and its groups are not.
  if (!regex.re.test(input)) return null;
  if (regex.programSize * input.length > MAX_REGEX_WORK) {
    throw new RuleError(
      'RUNTIME_REGEX_LIMIT',
      `this regular expression is too costly to extract from a ${input.length}-character string; test a shorter string or a simpler expression`,
    );
  }
  if (regex.global) {
    const all: string[] = [];
    for (const found of regex.re.matchAll(input)) all.push(String(found[0]));
    return all.length === 0 ? null : all;
  }
  const found = regex.re.exec(input);
  if (found === null) return null;
  const plain: (string | undefined)[] = [];
  for (let i = 0; i < found.length; i++) {
    const part: unknown = found[i];
    plain.push(typeof part === 'string' ? part : undefined);
  }
  return plain;
}
