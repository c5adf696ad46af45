import type { ValveCheckError } from '@hubstream/valve';

export type Range = { from: number; to: number };

/**
 * The character range of a checker error (1-based line and column, end
 * exclusive) in `text`, never empty so the underline is visible.
 */
export function rangeOf(text: string, error: ValveCheckError): Range {
  const starts = [0];
  for (let i = 0; i < text.length; i++) if (text[i] === '\n') starts.push(i + 1);
  const offset = (line: number, column: number) => {
    const start = starts[Math.min(Math.max(line, 1), starts.length) - 1] ?? 0;
    const lineEnd = text.indexOf('\n', start);
    const end = lineEnd === -1 ? text.length : lineEnd;
    return Math.min(start + Math.max(column, 1) - 1, end);
  };
  const from = offset(error.line, error.column);
  let to = offset(error.endLine, error.endColumn);
  if (to <= from) to = Math.min(from + 1, text.length);
  if (to <= from && from > 0) return { from: from - 1, to: from };
  return { from, to };
}
