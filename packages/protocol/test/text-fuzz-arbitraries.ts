import fc from 'fast-check';

// Text-protocol messages for property-based tests (text-fuzz.test.ts here,
// apps/realtime/test/text-fuzz.int.test.ts over a socket): valid messages of
// every kind the 2.x client sends, and mutations of them (parts dropped,
// doubled, replaced, retyped, truncated, separators inserted).

export const RS = '\x1e';
export const US = '\x1f';

/** A valid message of every kind the 2.x client sends, as parts. */
export const VALID: readonly string[][] = [
  ['C', 'CHR', 'ws://host/app'],
  ['C', 'PO'],
  ['C', 'PI'],
  ['A', 'REQ', '{"username":"u"}'],
  ['E', 'S', 'news'],
  ['E', 'US', 'news'],
  ['E', 'EVT', 'news', 'Shello'],
  ['E', 'EVT', 'news', 'O{"a":[1,2]}'],
  ['E', 'EVT', 'news'],
  ['E', 'L', 'news/.*'],
  ['E', 'UL', 'news/.*'],
  ['E', 'LA', 'news/.*', 'news/1'],
  ['E', 'LR', 'news/.*', 'news/1'],
  ['R', 'CR', 'car'],
  ['R', 'US', 'car'],
  ['R', 'SN', 'car'],
  ['R', 'D', 'car'],
  ['R', 'H', 'car'],
  ['R', 'HD', 'car'],
  ['R', 'U', 'car', '2', '{"speed":1}'],
  ['R', 'U', 'car', '2', '{"speed":1}', '{"writeSuccess":true}'],
  ['R', 'P', 'car', '3', 'speed', 'N12.5'],
  ['R', 'P', 'car', '3', 'owner', 'U'],
  ['R', 'CU', 'car', '-1', '{"a":1}', '{"writeSuccess":true}'],
  ['R', 'CU', 'car', '-1', 'a.b', 'T', '{}'],
  ['R', 'L', 'car/.*'],
  ['R', 'LA', 'car/.*', 'car/1'],
  ['P', 'S', 'add'],
  ['P', 'US', 'add'],
  ['P', 'REQ', 'add', 'c1', 'O{"a":1}'],
  ['P', 'RES', 'add', 'c1', 'N3'],
  ['P', 'A', 'REQ', 'add', 'c1'],
  ['P', 'E', 'went wrong', 'add', 'c1'],
  ['P', 'REJ', 'add', 'c1'],
  ['U', 'Q', 'Q'],
  ['U', 'S', 'S'],
  ['U', 'US', 'US'],
  ['U', 'Q', '7', '["alice","bob"]'],
  ['U', 'S', '8', '["alice"]'],
  ['U', 'US', '9', '["alice"]'],
];

/** Parts that are plausible somewhere: type prefixes, topics, actions, JSON pieces, separators. */
const piece = fc.oneof(
  fc.constantFrom(
    ...['C', 'A', 'E', 'R', 'P', 'U', 'X', 'S', 'US', 'EVT', 'CR', 'CU', 'REQ', 'Q', 'LA'],
    ...['S', 'O', 'N', 'T', 'F', 'L', 'U', 'Z', 'O{', 'O[', 'N-', 'Nx', 'NNaN', 'N1e999'],
    ...['-1', '0', '2147483648', '1.5', '{"writeSuccess":true}', '[', '["a",', '"', '\\'],
    ...[RS, US, `${US}${US}`, `${RS}${RS}`, '\u0000', '\ud800', 'constructor', '__proto__'],
  ),
  fc.string({ maxLength: 12 }),
);

export type Mutation =
  | { kind: 'drop'; at: number }
  | { kind: 'double'; at: number }
  | { kind: 'replace'; at: number; with: string }
  | { kind: 'insert'; at: number; with: string }
  | { kind: 'retype'; at: number; prefix: string }
  | { kind: 'truncate'; at: number; length: number };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('drop' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('double' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('replace' as const), at: fc.nat(), with: piece }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), with: piece }),
  fc.record({
    kind: fc.constant('retype' as const),
    at: fc.nat(),
    prefix: fc.constantFrom('S', 'O', 'N', 'T', 'F', 'L', 'U', 'Q', ''),
  }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat(), length: fc.nat(6) }),
);

export function mutate(parts: readonly string[], mutations: readonly Mutation[]): string[] {
  const out = [...parts];
  for (const m of mutations) {
    const at = out.length === 0 ? 0 : m.at % out.length;
    const part = out[at] ?? '';
    switch (m.kind) {
      case 'drop':
        out.splice(at, 1);
        break;
      case 'double':
        out.splice(at, 0, part);
        break;
      case 'replace':
        out[at] = m.with;
        break;
      case 'insert':
        out.splice(at, 0, m.with);
        break;
      case 'retype':
        out[at] = m.prefix + part.slice(1);
        break;
      case 'truncate':
        out[at] = part.slice(0, m.length);
        break;
    }
  }
  return out;
}

/** A message: one of `templates` (every valid kind by default), mutated up to `maxMutations` times. */
export function mutatedMessage(
  templates: readonly string[][] = VALID,
  maxMutations = 4,
): fc.Arbitrary<string> {
  return fc
    .tuple(fc.constantFrom(...templates), fc.array(mutation, { maxLength: maxMutations }))
    .map(([parts, mutations]) => mutate(parts, mutations).join(US));
}

/** A valid message of any kind, mutated zero or more times. */
export const message = mutatedMessage();
