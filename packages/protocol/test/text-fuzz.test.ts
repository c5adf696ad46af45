import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeTextFrame,
  jsonToTyped,
  TextConnectionState,
  type TextDecodeFailureReason,
  type TextDecodeResult,
  TOPIC,
  typedToJson,
  typedValue,
} from '../src/index.ts';

// Property-based tests of the text codec (issue 19 item 4), beside the
// hand-picked cases of text-malformed.test.ts: whatever a 2.x connection
// sends (random bytes, messages of every topic with parts dropped, doubled,
// retyped or split, frames far over the bounds), decoding never throws,
// every failure is one of the documented reasons, and what comes out is
// bounded by the options (messages per frame, names per message).
// fast-check's seed is printed on a failure, so a case reproduces.

const RS = '\x1e';
const US = '\x1f';

const REASONS: ReadonlySet<TextDecodeFailureReason> = new Set([
  'MESSAGE_PARSE_ERROR',
  'UNKNOWN_TOPIC',
  'UNKNOWN_ACTION',
  'INVALID_MESSAGE_DATA',
  'TOO_MANY_NAMES',
  'TOO_MANY_MESSAGES',
]);
const TOPICS = new Set<number>(Object.values(TOPIC).filter((v) => typeof v === 'number'));

/** What every decode must satisfy, whatever the frame. */
function checkBounded(
  results: TextDecodeResult[],
  options: { maxMessages: number; maxNames: number },
): void {
  expect(results.length).toBeLessThanOrEqual(options.maxMessages);
  for (const result of results) {
    if (!result.ok) {
      expect(REASONS.has(result.reason), result.reason).toBe(true);
      if (result.reason === 'TOO_MANY_MESSAGES') {
        // A refused frame is one failure and nothing else.
        expect(results).toHaveLength(1);
        expect(result.count).toBeGreaterThan(options.maxMessages);
      }
      if (result.message?.names) expect(result.message.names.length).toBeLessThanOrEqual(1);
      continue;
    }
    const { message } = result;
    expect(TOPICS.has(message.topic)).toBe(true);
    expect(Number.isInteger(message.action)).toBe(true);
    if (message.names) {
      // Presence lists are bounded by maxNames; other topics' 2.x messages name one.
      const max = message.topic === TOPIC.PRESENCE ? options.maxNames : 1;
      expect(message.names.length).toBeLessThanOrEqual(max);
      for (const name of message.names) expect(typeof name).toBe('string');
    }
    if (message.version !== undefined) {
      expect(Number.isInteger(message.version)).toBe(true);
      expect(Math.abs(message.version)).toBeLessThanOrEqual(2 ** 31 - 1);
    }
  }
}

/** A valid message of every kind the 2.x client sends, as parts. */
const VALID: readonly string[][] = [
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

type Mutation =
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

function mutate(parts: readonly string[], mutations: readonly Mutation[]): string[] {
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

/** A message: a valid one of any kind, mutated zero or more times. */
const message = fc
  .tuple(fc.constantFrom(...VALID), fc.array(mutation, { maxLength: 4 }))
  .map(([parts, mutations]) => mutate(parts, mutations).join(US));

const options = fc.record({
  maxMessages: fc.integer({ min: 1, max: 120 }),
  maxNames: fc.integer({ min: 0, max: 8 }),
});

describe('text codec under fuzzing', () => {
  it('never throws on random bytes, read as the socket reads them', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), options, (bytes, opts) => {
        const frame = Buffer.from(bytes).toString('utf8');
        checkBounded(decodeTextFrame(frame, opts), opts);
      }),
      { numRuns: 300 },
    );
  });

  it('never throws on frames of mutated messages of every topic, and decodes the intact ones', () => {
    const state = new TextConnectionState();
    fc.assert(
      fc.property(
        fc.array(message, { minLength: 1, maxLength: 30 }),
        fc.boolean(),
        options,
        (messages, trailing, opts) => {
          const frame = messages.join(RS) + (trailing ? RS : '');
          const results = decodeTextFrame(frame, { ...opts, state });
          checkBounded(results, opts);
          // Each message is its own result, unless the frame holds too many.
          const nonEmpty = frame.split(RS).filter((m) => m.length > 0).length;
          if (results[0]?.ok === false && results[0].reason === 'TOO_MANY_MESSAGES') {
            expect(frame.split(RS).length - (frame.endsWith(RS) ? 1 : 0)).toBeGreaterThan(
              opts.maxMessages,
            );
          } else {
            expect(results).toHaveLength(nonEmpty);
          }
        },
      ),
      { numRuns: 400 },
    );
    expect(state.pendingHeads).toBeLessThanOrEqual(1000);
  });

  it('decodes every intact message of every topic (the fuzz above starts from valid ones)', () => {
    for (const parts of VALID) {
      const [result] = decodeTextFrame(parts.join(US) + RS, { maxNames: 8 });
      expect(result?.ok, parts.join('|')).toBe(true);
    }
  });

  it('refuses a frame over maxMessages whole, however long, and keeps every message under it', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 100 }),
        fc.integer({ min: 0, max: 400 }),
        fc.constantFrom(...VALID),
        (maxMessages, count, parts) => {
          const frame = (parts.join(US) + RS).repeat(count);
          const results = decodeTextFrame(frame, { maxMessages, maxNames: 8 });
          if (count > maxMessages) {
            expect(results).toEqual([
              { ok: false, reason: 'TOO_MANY_MESSAGES', count: maxMessages + 1 },
            ]);
          } else {
            expect(results).toHaveLength(count);
            for (const result of results) expect(result.ok).toBe(true);
          }
        },
      ),
      { numRuns: 200 },
    );
    // A huge frame of one message: decoded once, its size is the caller's bound (the socket's).
    const big = `E${US}EVT${US}news${US}S${'x'.repeat(2_000_000)}${RS}`;
    const [result] = decodeTextFrame(big);
    expect(result).toMatchObject({ ok: true, message: { name: 'news' } });
  });

  it('bounds the names of a presence list by maxNames, counting before parsing', () => {
    fc.assert(
      fc.property(
        fc.array(fc.string({ maxLength: 6 }), { maxLength: 20 }),
        fc.integer({ min: 0, max: 10 }),
        fc.constantFrom('Q', 'S', 'US'),
        (names, maxNames, action) => {
          const frame = ['U', action, '1', JSON.stringify(names)].join(US) + RS;
          const results = decodeTextFrame(frame, { maxNames });
          expect(results).toHaveLength(1);
          const [result] = results;
          // A name holding a separator splits the message: any failure, never a throw.
          if (names.some((n) => n.includes(US) || n.includes(RS))) return;
          if (names.length > maxNames) {
            expect(result).toMatchObject({
              ok: false,
              reason: 'TOO_MANY_NAMES',
              overCap: { count: names.length },
            });
          } else {
            expect(result).toMatchObject({ ok: true, message: { names } });
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('reads typed values: never throws, JSON when accepted, and what typedValue writes reads back', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), (part) => {
        const value = typedToJson(part);
        if (value.ok && value.json !== undefined && part[0] !== 'O') {
          // Everything but O (passed on as it came, parsed where used) is JSON the decoder made.
          expect(() => JSON.parse(value.json as string)).not.toThrow();
        }
      }),
      { numRuns: 500 },
    );
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const typed = typedValue(value);
        // JSON text escapes control characters, so every JSON value has a typed form.
        if (typed === null) throw new Error(`no typed form for ${JSON.stringify(value)}`);
        const read = typedToJson(typed);
        expect(read.ok).toBe(true);
        if (!read.ok || read.json === undefined) throw new Error(`no value for ${typed}`);
        expect(JSON.parse(read.json)).toEqual(JSON.parse(JSON.stringify(value)));
        // And the JSON the handlers hold goes back to the same typed form's value.
        const again = jsonToTyped(read.json);
        expect(again).not.toBeNull();
        expect(typedToJson(again as string)).toEqual(read);
      }),
      { numRuns: 300 },
    );
  });
});
