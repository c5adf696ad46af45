import { compileRegex, limits } from '@hubstream/valve';

// Listen patterns are regular expressions that tenants write, so they run
// under Valve's regex policy: RE2 (linear time, no lookaround or
// backreferences), a cap on the pattern's length and on its compiled size,
// and a cap on the length of the names it searches. They match as
// deepstream's do (`new RegExp(pattern).test(name)`): anywhere in the name,
// so a listen on `weather/` sees `weather/london`; anchor with ^ and $ for
// a whole-name match.

export const MAX_LISTEN_PATTERN_LENGTH = limits.MAX_DYNAMIC_REGEX_LENGTH;

/** A compiled listen pattern: RE2's, or a literal's own string test. */
export type ListenRegex = { readonly re: { test(name: string): boolean } };

export type ListenPatternResult = { ok: true; regex: ListenRegex } | { ok: false; message: string };

/** A pattern without regex syntax: a literal, optionally anchored with ^ and $. */
const LITERAL = /^\^?[A-Za-z0-9_/:@ ,=~-]*\$?$/;

/**
 * A literal pattern (`^weather/`, `london$`, `chat/room`) matched with
 * startsWith/endsWith/includes, as RE2 would match it: no RE2 compile, which
 * cost ~0.35 ms and thousands of short-lived objects a pattern (bench:attacks,
 * listen patterns: 2,000 `^manyN/` patterns in a burst).
 */
function literalPattern(pattern: string): ListenRegex | undefined {
  if (!LITERAL.test(pattern)) return undefined;
  const start = pattern.startsWith('^');
  const end = pattern.endsWith('$');
  const text = pattern.slice(start ? 1 : 0, end ? -1 : undefined);
  let test: (name: string) => boolean;
  if (start && end) test = (name) => name === text;
  else if (start) test = (name) => name.startsWith(text);
  else if (end) test = (name) => name.endsWith(text);
  else test = (name) => name.includes(text);
  return { re: { test } };
}

export function compileListenPattern(pattern: string): ListenPatternResult {
  if (pattern.length === 0) return { ok: false, message: 'a listen pattern may not be empty' };
  if (pattern.length > MAX_LISTEN_PATTERN_LENGTH) {
    return {
      ok: false,
      message: `a listen pattern may have at most ${MAX_LISTEN_PATTERN_LENGTH} characters`,
    };
  }
  const literal = literalPattern(pattern);
  return literal ? { ok: true, regex: literal } : compileRegex(pattern, '');
}

/** Whether the pattern occurs anywhere in the name; names past Valve's match-input cap never match. */
export function patternMatches(regex: ListenRegex, name: string): boolean {
  if (name.length > limits.MAX_MATCH_INPUT_LENGTH) return false;
  return regex.re.test(name);
}

/**
 * Compiles and runs a few patterns once, at the node's start. The first
 * RE2 compile of a process loads the engine's code and decodes its Unicode
 * tables: 20-90 ms with the event loop stopped (bench:attacks, listen
 * patterns), which the first tenant to LISTEN would otherwise cost every
 * app's clients in the middle of their traffic. Returns how many matched
 * (all of them: the warm-up went through the engine).
 */
export function warmListenPatterns(): number {
  let matched = 0;
  for (const pattern of ['^warm/(a+|[b-d]{2,3})*x?$', '(?i)WARM[^/]*/', 'a.*x$']) {
    const compiled = compileListenPattern(pattern);
    if (compiled.ok && patternMatches(compiled.regex, 'warm/abcbcx')) matched++;
  }
  return matched;
}
