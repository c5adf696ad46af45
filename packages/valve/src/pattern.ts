import { MAX_PATTERN_LENGTH } from './limits.js';

// Patterns name the records, events and RPCs a rule applies to. `*` matches
// any run of characters (also `/`, also none); `$name` matches one or more
// characters other than `/`; every other character is literal. Matching is
// our own and linear in the name, so no pattern can backtrack badly.

type Token =
  | { readonly kind: 'literal'; readonly text: string }
  | { readonly kind: 'variable' }
  | { readonly kind: 'star' };

export interface CompiledPattern {
  readonly source: string;
  /** The `$vars` in order of appearance, duplicates included. */
  readonly variables: readonly string[];
  /** Each variable's capture position; a repeated name binds its last occurrence. */
  readonly variableIndex: ReadonlyMap<string, number>;
  /** The captured `$var` values, or null when the name does not match. */
  match(name: string): readonly string[] | null;
}

const NO_CAPTURES: readonly string[] = Object.freeze([]);
const VARIABLE_CHAR = /[a-zA-Z0-9]/;

/** Why a pattern is invalid, or undefined when it is fine. */
export function patternProblem(pattern: string): string | undefined {
  if (pattern.length === 0) return "a pattern can't be empty";
  if (pattern.startsWith('/')) return "a pattern can't start with /";
  if (pattern.length > MAX_PATTERN_LENGTH) {
    return `a pattern may have at most ${MAX_PATTERN_LENGTH} characters`;
  }
  for (let i = 0; i < pattern.length; i++) {
    if (pattern[i] === '$' && !VARIABLE_CHAR.test(pattern[i + 1] ?? '')) {
      const shown = pattern.slice(i, i + 2);
      return `invalid variable name ${shown}; a $variable is $ followed by letters and digits`;
    }
  }
  return undefined;
}

function tokenizePattern(pattern: string): { tokens: Token[]; variables: string[] } {
  const tokens: Token[] = [];
  const variables: string[] = [];
  let literal = '';
  const flush = (): void => {
    if (literal.length > 0) tokens.push({ kind: 'literal', text: literal });
    literal = '';
  };
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*') {
      flush();
      // `**` matches exactly what `*` does.
      if (tokens[tokens.length - 1]?.kind !== 'star') tokens.push({ kind: 'star' });
    } else if (c === '$') {
      flush();
      let end = i + 1;
      while (end < pattern.length && VARIABLE_CHAR.test(pattern[end]!)) end++;
      variables.push(pattern.slice(i, end));
      tokens.push({ kind: 'variable' });
      i = end - 1;
    } else literal += c;
  }
  flush();
  return { tokens, variables };
}

/** Compiles a pattern that patternProblem() accepted. */
export function compilePattern(source: string): CompiledPattern {
  const { tokens, variables } = tokenizePattern(source);
  const variableIndex = new Map<string, number>();
  variables.forEach((name, i) => {
    variableIndex.set(name, i);
  });
  return { source, variables, variableIndex, match: matcherFor(tokens) };
}

function matcherFor(tokens: readonly Token[]): (name: string) => readonly string[] | null {
  const wildcards = tokens.filter((t) => t.kind !== 'literal');
  if (wildcards.length === 0) {
    const text = tokens.map((t) => (t.kind === 'literal' ? t.text : '')).join('');
    return (name) => (name === text ? NO_CAPTURES : null);
  }
  if (wildcards.length === 1) {
    const at = tokens.findIndex((t) => t.kind !== 'literal');
    const before = tokens[at - 1];
    const after = tokens[at + 1];
    const prefix = before?.kind === 'literal' ? before.text : '';
    const suffix = after?.kind === 'literal' ? after.text : '';
    const isVariable = tokens[at]!.kind === 'variable';
    const minLength = prefix.length + suffix.length + (isVariable ? 1 : 0);
    return (name) => {
      if (name.length < minLength || !name.startsWith(prefix) || !name.endsWith(suffix))
        return null;
      if (!isVariable) return NO_CAPTURES;
      const middle = name.slice(prefix.length, name.length - suffix.length);
      return middle.includes('/') ? null : [middle];
    };
  }
  return (name) => matchGeneral(tokens, name);
}

/**
 * Dynamic programming over (token, position): reach[t][p] says whether tokens
 * t.. can match name from p. Captures are then read forward taking the longest
 * choice at each wildcard, which is what a greedy regex would capture.
 */
function matchGeneral(tokens: readonly Token[], name: string): readonly string[] | null {
  const n = name.length;
  const width = n + 1;
  const reach = new Uint8Array((tokens.length + 1) * width);
  reach[tokens.length * width + n] = 1;
  for (let t = tokens.length - 1; t >= 0; t--) {
    const token = tokens[t]!;
    const row = t * width;
    const next = (t + 1) * width;
    if (token.kind === 'literal') {
      const len = token.text.length;
      for (let p = 0; p + len <= n; p++) {
        if (reach[next + p + len] === 1 && name.startsWith(token.text, p)) reach[row + p] = 1;
      }
    } else if (token.kind === 'star') {
      let any = 0;
      for (let p = n; p >= 0; p--) {
        any |= reach[next + p]!;
        reach[row + p] = any;
      }
    } else {
      // Some q in (p, end of p's segment] with reach[t+1][q].
      let any = 0;
      for (let p = n - 1; p >= 0; p--) {
        if (name[p] === '/') {
          any = 0;
          continue;
        }
        const segmentContinues = p + 1 < n && name[p + 1] !== '/';
        any = (reach[next + p + 1]! | (segmentContinues ? any : 0)) as 0 | 1;
        reach[row + p] = any;
      }
    }
  }
  if (reach[0] !== 1) return null;
  const captures: string[] = [];
  let p = 0;
  for (let t = 0; t < tokens.length; t++) {
    const token = tokens[t]!;
    const next = (t + 1) * width;
    if (token.kind === 'literal') {
      p += token.text.length;
      continue;
    }
    let limit = n;
    if (token.kind === 'variable') {
      const slash = name.indexOf('/', p);
      limit = slash < 0 ? n : slash;
    }
    let q = limit;
    const lowest = token.kind === 'variable' ? p + 1 : p;
    while (q > lowest && reach[next + q] !== 1) q--;
    if (token.kind === 'variable') captures.push(name.slice(p, q));
    p = q;
  }
  return captures;
}
