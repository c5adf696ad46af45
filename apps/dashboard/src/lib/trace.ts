import type { TraceEntry } from '@hubstream/valve';

// The simulator's trace as lines a person reads. Valve binds `action` to the
// protocol's action number (what rules compare); the line shows its name
// (from the rule being run, which the trace lists just before), so nobody
// has to look up what 18 means.

function describe(entry: TraceEntry, actionName: string | undefined): string {
  switch (entry.kind) {
    case 'rule':
      return `Rule ${entry.section}.${entry.pattern ?? '(none)'}.${entry.type} for ${entry.actionName}`;
    case 'skip':
      return `Skipped ${entry.type}: ${entry.reason}`;
    case 'bind':
      if (entry.variable === 'action' && actionName) {
        return `action = ${actionName} (protocol action ${JSON.stringify(entry.value)})`;
      }
      return `${entry.variable} = ${JSON.stringify(entry.value)}`;
    case 'load':
      return `Loaded record ${entry.record} (round ${entry.round}): ${entry.error ?? (entry.found ? 'found' : 'does not exist')}`;
    case 'value':
      return `${entry.expression} → ${'value' in entry ? JSON.stringify(entry.value) : entry.type}`;
    case 'result':
      return `Result of ${entry.type} (${entry.pattern ?? 'no pattern'}): ${entry.verdict}`;
  }
}

/** One line per trace entry. */
export function traceLines(trace: readonly TraceEntry[]): string[] {
  let actionName: string | undefined;
  return trace.map((entry) => {
    if (entry.kind === 'rule') actionName = entry.actionName;
    return describe(entry, actionName);
  });
}
