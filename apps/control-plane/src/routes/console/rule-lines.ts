// Which line of the app's active rules a denial came from. The node names
// the rule as Valve does (section, pattern, rule type); the line is found in
// the rules file the control plane stored, read once per version in force
// (activeRuleLines in service.ts).

/**
 * Whether `line` holds `key` as a YAML or JSON key (bare, '...' or "..."
 * quoted, then optional spaces and a colon). Compared as text, not through a
 * RegExp built from the key: a rule's pattern may be as long as the rules
 * file, and compiling a RegExp of that size can exhaust V8's memory.
 */
function holdsKey(line: string, key: string): boolean {
  const rest = line.trimStart();
  for (const written of [JSON.stringify(key), `'${key}'`, key]) {
    if (!rest.startsWith(written)) continue;
    if (rest.slice(written.length).trimStart().startsWith(':')) return true;
  }
  return false;
}

/**
 * The 1-based line of `type` under `pattern` under `section` in a Valve file
 * (YAML, or JSON laid out one key a line); the pattern's line when the type
 * is not written out; null when the pattern is not found (the built-in
 * default rules, or a denial because no pattern matched).
 */
export function ruleLine(
  source: string,
  section: string,
  pattern: string | null,
  type: string,
): number | null {
  if (pattern === null) return null;
  const lines = source.split('\n');
  const find = (key: string, from: number, deeperThan: number) => {
    for (let i = from; i < lines.length; i++) {
      const line = lines[i]!;
      if (line.trim() === '' || line.trim().startsWith('#')) continue;
      const indent = line.length - line.trimStart().length;
      if (i > from && indent <= deeperThan && deeperThan >= 0) return null;
      if (indent > deeperThan && holdsKey(line, key)) return { index: i, indent };
    }
    return null;
  };
  const sectionAt = find(section, 0, -1);
  if (!sectionAt) return null;
  const patternAt = find(pattern, sectionAt.index + 1, sectionAt.indent);
  if (!patternAt) return null;
  const typeAt = find(type, patternAt.index + 1, patternAt.indent);
  return (typeAt ?? patternAt).index + 1;
}
