// Maps a position inside a YAML/JSON string value back to its offset in the
// file, so an error inside a rule expression points at the right column even
// when the string is quoted or contains escapes.

export type ScalarStyle =
  | 'PLAIN'
  | 'QUOTE_SINGLE'
  | 'QUOTE_DOUBLE'
  | 'BLOCK_LITERAL'
  | 'BLOCK_FOLDED';

export type OffsetMap = (index: number) => number;

/** Source characters each YAML double-quoted escape occupies, after the backslash. */
function escapeLength(letter: string): number {
  if (letter === 'x') return 3;
  if (letter === 'u') return 5;
  if (letter === 'U') return 9;
  return 1;
}

/** Offsets for a one-line double-quoted scalar, escape by escape. */
function doubleQuoted(
  text: string,
  start: number,
  end: number,
  value: string,
): number[] | undefined {
  const offsets: number[] = [];
  let pos = start + 1;
  const close = end - 1;
  while (pos < close) {
    const c = text[pos]!;
    if (c === '\n' || c === '\r') return undefined;
    if (c !== '\\') {
      offsets.push(pos);
      pos++;
      continue;
    }
    const length = escapeLength(text[pos + 1] ?? '');
    // Every escape decodes to one UTF-16 unit, except \U beyond the BMP (two).
    const units =
      text[pos + 1] === 'U' && Number.parseInt(text.slice(pos + 2, pos + 10), 16) > 0xffff ? 2 : 1;
    for (let i = 0; i < units; i++) offsets.push(pos);
    pos += 1 + length;
  }
  return offsets.length === value.length ? offsets : undefined;
}

function singleQuoted(
  text: string,
  start: number,
  end: number,
  value: string,
): number[] | undefined {
  const offsets: number[] = [];
  let pos = start + 1;
  const close = end - 1;
  while (pos < close) {
    const c = text[pos]!;
    if (c === '\n' || c === '\r') return undefined;
    offsets.push(pos);
    pos += c === "'" && text[pos + 1] === "'" ? 2 : 1;
  }
  return offsets.length === value.length ? offsets : undefined;
}

/**
 * For multi-line and block scalars: walk the value and the source together,
 * skipping indentation and folded line breaks in the source.
 */
function aligned(text: string, start: number, end: number, value: string): number[] {
  const offsets: number[] = [];
  let pos = start;
  for (const c of value) {
    for (let k = 0; k < c.length; k++) {
      let found = pos;
      while (found < end && text[found] !== c[k]) {
        if ((c === ' ' || c === '\n') && /\s/.test(text[found]!)) break;
        found++;
      }
      if (found >= end) found = Math.max(start, end - 1);
      offsets.push(found);
      pos = Math.min(found + 1, end);
    }
  }
  return offsets;
}

/** Builds the index → file offset map for one string scalar. */
export function scalarOffsets(
  text: string,
  style: ScalarStyle | undefined,
  start: number,
  end: number,
  value: string,
): OffsetMap {
  let offsets: number[] | undefined;
  if (style === 'PLAIN' && text.slice(start, end) === value) return (i) => start + i;
  if (style === 'QUOTE_DOUBLE') offsets = doubleQuoted(text, start, end, value);
  else if (style === 'QUOTE_SINGLE') offsets = singleQuoted(text, start, end, value);
  const map = offsets ?? aligned(text, start, end, value);
  return (i) => {
    if (i < map.length) return map[i]!;
    const last = map[map.length - 1];
    return last === undefined ? start : last + 1;
  };
}
