// How the listener registries name what they hold: a listener is
// node\0connection\0pattern; the Redis registry's node index members are
// fields joined by SEP (./lua.ts).

export const SEP = '\u0000';

/** A listener's key: its node, connection and pattern. */
export const listenerKey = (node: string, connection: string, pattern: string) =>
  `${node}\u0000${connection}\u0000${pattern}`;

/** Splits `count` fields off the front; the rest (a name or pattern) may hold anything. */
export function fields(member: string, count: number): string[] {
  const out: string[] = [];
  let start = 0;
  for (let i = 0; i < count; i++) {
    const end = member.indexOf(SEP, start);
    if (end < 0) return [];
    out.push(member.slice(start, end));
    start = end + 1;
  }
  out.push(member.slice(start));
  return out;
}

/** Numbers per name in a subscribeMany() reply: first, provided, offer. */
export const SUBSCRIBE_RESULT_WIDTH = 3;

/** Values per name in an unsubscribeMany() reply: last (1 or 0), provider token, offer token ('' none). */
export const UNSUBSCRIBE_RESULT_WIDTH = 3;

/**
 * The offer token of the name at `index` of a subscribeMany() call: one
 * token base per call instead of a token string made per name (the Redis
 * registry's script makes the same string when it records an offer).
 */
export const batchOfferToken = (base: string, index: number) => `${base}.${index}`;
