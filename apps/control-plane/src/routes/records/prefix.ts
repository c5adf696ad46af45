// Record names compare in C order (byte order of their UTF-8, which is code
// point order), so the names that start with a prefix are exactly the range
// [prefix, prefixEnd(prefix)).

/**
 * The least string greater than every string that starts with `prefix`: its
 * last code point plus one (trailing U+10FFFF dropped first); null when no
 * string is (the prefix is all U+10FFFF).
 */
export function prefixEnd(prefix: string): string | null {
  const points = [...prefix].map((c) => c.codePointAt(0)!);
  while (points.length > 0) {
    let last = points.pop()!;
    if (last < 0x10ffff) {
      last += 1;
      // Surrogate code points are not characters: skip to the first after them.
      if (last >= 0xd800 && last <= 0xdfff) last = 0xe000;
      return String.fromCodePoint(...points, last);
    }
  }
  // The prefix is all U+10FFFF: nothing sorts after its range.
  return null;
}
