import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeTextFrame,
  jsonToTyped,
  type Message,
  PRESENCE_ACTION,
  TextConnectionState,
  type TextDecodeFailureReason,
  type TextDecodeResult,
  TOPIC,
  typedToJson,
  typedValue,
} from '../src/index.ts';
import { message, RS, US, VALID } from './text-fuzz-arbitraries.ts';

// Property-based tests of the text codec (issue 19 item 4), beside the
// hand-picked cases of text-malformed.test.ts: whatever a 2.x connection
// sends (random bytes, messages of every topic with parts dropped, doubled,
// retyped or split, frames far over the bounds), decoding never throws,
// every failure is one of the documented reasons, and what comes out is
// bounded by the options (messages per frame, names per message).
// fast-check's seed is printed on a failure, so a case reproduces.

const REASONS: ReadonlySet<TextDecodeFailureReason> = new Set([
  'MESSAGE_PARSE_ERROR',
  'UNKNOWN_TOPIC',
  'UNKNOWN_ACTION',
  'INVALID_MESSAGE_DATA',
  'INVALID_MESSAGE',
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
    const message: Message = result.message;
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
          } else if (names.length === 0 && action !== 'Q') {
            // A subscription to nobody: refused at the edge, as the presence handler did.
            expect(result).toMatchObject({
              ok: false,
              reason: 'INVALID_MESSAGE',
              message: { names: [] },
              reply: { action: PRESENCE_ACTION.INVALID_PRESENCE_USERS, isError: true },
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
