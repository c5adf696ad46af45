import { describe, expect, it } from 'vitest';
import {
  decodeTextFrame,
  EVENT_ACTION,
  encodeTextMessage,
  type Message,
  PRESENCE_ACTION,
  RECORD_ACTION,
  TextConnectionState,
  TOPIC,
} from '../src/index.ts';
import { parser, t } from './text-helpers.ts';

// Bad input to the text codec: a specific failure per message, never a
// throw, and bounded work (messages per frame and names per message are
// counted before anything is split or parsed). And the encoder never writes
// what the 2.x client cannot parse, whatever a message holds.

function only(text: string, options = {}) {
  const results = decodeTextFrame(t(text), options);
  expect(results).toHaveLength(1);
  return results[0];
}

/** A small deterministic generator (mulberry32), so a failure reproduces. */
function random(seed: number) {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let x = Math.imul(a ^ (a >>> 15), 1 | a);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

describe('text codec on bad input', () => {
  it('names what is wrong with each message', () => {
    expect(only('Z|S|news')).toEqual({ ok: false, reason: 'UNKNOWN_TOPIC' });
    expect(only('constructor|S|news')).toEqual({ ok: false, reason: 'UNKNOWN_TOPIC' });
    expect(only('__proto__|S')).toEqual({ ok: false, reason: 'UNKNOWN_TOPIC' });
    expect(only('E')).toEqual({ ok: false, reason: 'MESSAGE_PARSE_ERROR' });
    expect(only('E|FOO|news')).toEqual({ ok: false, reason: 'UNKNOWN_ACTION', topic: TOPIC.EVENT });
    expect(only('E|constructor|news')).toMatchObject({ reason: 'UNKNOWN_ACTION' });
    expect(only('C|CH')).toMatchObject({ reason: 'UNKNOWN_ACTION', topic: TOPIC.CONNECTION });
    expect(only('A|A')).toMatchObject({ reason: 'UNKNOWN_ACTION', topic: TOPIC.AUTH });
    expect(only('P|A|RES|add|k')).toMatchObject({ reason: 'UNKNOWN_ACTION', topic: TOPIC.RPC });
    expect(only('U|PNJ|u')).toMatchObject({ reason: 'UNKNOWN_ACTION', topic: TOPIC.PRESENCE });
    // Too few or too many parts.
    for (const text of [
      'E|S',
      'E|S|a|b',
      'E|EVT|a|Sx|Sy',
      'E|LA|p',
      'R|CR',
      'R|U|r|1',
      'R|U|r|1|{}|{}|{}',
      'R|P|r|1|path',
      'R|U|r|1|a|Sx',
      'P|REQ|add',
      'P|E|msg|add',
      'C|PO|x',
      'U|Q|1|[]|x',
      'U|Q|X',
      'U|S|US',
    ]) {
      expect(only(text), text).toMatchObject({ ok: false, reason: 'MESSAGE_PARSE_ERROR' });
    }
    // Malformed values, with what was understood for the reply.
    expect(only('E|EVT|news|Zabc')).toEqual({
      ok: false,
      reason: 'INVALID_MESSAGE_DATA',
      topic: TOPIC.EVENT,
      message: { topic: TOPIC.EVENT, action: EVENT_ACTION.EMIT, name: 'news' },
    });
    for (const typed of ['', 'N', 'N12abc', 'N0x10', 'N 1', 'Tx', 'Ftrue', 'Lnull', 'Uu', 'O']) {
      expect(only(`E|EVT|news|${typed}`), typed).toMatchObject({ reason: 'INVALID_MESSAGE_DATA' });
    }
    for (const version of ['abc', '1.5', '', '99999999999', '1e3', '--1']) {
      expect(only(`R|U|r|${version}|{}`), version).toMatchObject({
        reason: 'INVALID_MESSAGE_DATA',
        message: { topic: TOPIC.RECORD, action: RECORD_ACTION.UPDATE, name: 'r' },
      });
    }
    for (const config of ['{bad', '{"writeSuccess":true', '{}}']) {
      expect(only(`R|U|r|1|{}|${config}`), config).toMatchObject({
        reason: 'INVALID_MESSAGE_DATA',
      });
    }
    expect(only('R|P|r|1|a|Q')).toMatchObject({ reason: 'INVALID_MESSAGE_DATA' });
    for (const names of ['not json', '[1,2]', '{"a":1}', '"a"', '[', '["a",null]']) {
      expect(only(`U|S|1|${names}`), names).toMatchObject({
        reason: 'INVALID_MESSAGE_DATA',
        message: { topic: TOPIC.PRESENCE, action: PRESENCE_ACTION.SUBSCRIBE, correlationId: '1' },
      });
    }
    expect(only('A|REQ')).toMatchObject({ reason: 'INVALID_MESSAGE_DATA', topic: TOPIC.AUTH });
  });

  it('keeps the good messages of a frame and fails the bad ones in place', () => {
    const results = decodeTextFrame(t('E|S|a+Z|S|b++E|EVT|c|Qq+E|US|a+'));
    expect(results.map((r) => (r.ok ? r.message.action : r.reason))).toEqual([
      EVENT_ACTION.SUBSCRIBE,
      'UNKNOWN_TOPIC',
      'INVALID_MESSAGE_DATA',
      EVENT_ACTION.UNSUBSCRIBE,
    ]);
    expect(decodeTextFrame('')).toEqual([]);
    expect(decodeTextFrame('\x1e\x1e')).toEqual([]);
  });

  it('refuses a frame of more messages than allowed before splitting it', () => {
    const hundred = 'E|EVT|x|N1+'.repeat(100);
    expect(decodeTextFrame(t(hundred))).toHaveLength(100);
    expect(decodeTextFrame(t(hundred.slice(0, -1)))).toHaveLength(100);
    expect(decodeTextFrame(t(`${hundred}E|EVT|x|N1`))).toEqual([
      { ok: false, reason: 'TOO_MANY_MESSAGES', count: 101 },
    ]);
    expect(decodeTextFrame(t('E|S|a+E|S|b+E|S|c+'), { maxMessages: 2 })).toMatchObject([
      { ok: false, reason: 'TOO_MANY_MESSAGES' },
    ]);
    // The count stops once it is over: a frame of a million separators costs a few hundred steps.
    const [huge] = decodeTextFrame('\x1e'.repeat(1_000_000));
    expect(huge).toEqual({ ok: false, reason: 'TOO_MANY_MESSAGES', count: 101 });
  });

  it('refuses a list of too many names by counting them, naming the first', () => {
    expect(only('U|S|7|["a,]b","c"]', { maxNames: 2 })).toMatchObject({ ok: true });
    const over = only('U|S|7|["a\\"b",["x"],"c"]', { maxNames: 2 });
    expect(over).toEqual({
      ok: false,
      reason: 'TOO_MANY_NAMES',
      topic: TOPIC.PRESENCE,
      message: {
        topic: TOPIC.PRESENCE,
        action: PRESENCE_ACTION.SUBSCRIBE,
        correlationId: '7',
        names: ['a"b'],
      },
      overCap: {
        count: 3,
        message: {
          topic: TOPIC.PRESENCE,
          action: PRESENCE_ACTION.SUBSCRIBE,
          correlationId: '7',
          names: ['a"b'],
        },
      },
    });
    const many = JSON.stringify(Array.from({ length: 50_000 }, (_, i) => `user${i}`));
    expect(only(`U|Q|1|${many}`, { maxNames: 100 })).toMatchObject({
      reason: 'TOO_MANY_NAMES',
      overCap: { count: 50_000, message: { names: ['user0'] } },
    });
    expect(only('U|Q|1|[]', { maxNames: 0 })).toMatchObject({ ok: true, message: { names: [] } });
  });

  it('never throws on random frames, and decodes only well-formed messages', () => {
    const next = random(19);
    const pieces = [
      '\x1e',
      '\x1f',
      '\x1f',
      'E',
      'R',
      'P',
      'U',
      'C',
      'A',
      'X',
      'S',
      'US',
      'EVT',
      'CR',
      'U',
      'P',
      'CU',
      'H',
      'HD',
      'SN',
      'REQ',
      'RES',
      'Q',
      'L',
      'LA',
      'O{',
      '}',
      '[',
      ']',
      '"',
      '\\',
      ',',
      'N',
      'T',
      'F',
      '-1',
      '7',
      '{"writeSuccess":true}',
      'name',
      '\u0000',
      '\ud800',
      'é',
    ];
    const state = new TextConnectionState();
    for (let i = 0; i < 5_000; i++) {
      let frame = '';
      const length = Math.floor(next() * 40);
      for (let j = 0; j < length; j++) frame += pieces[Math.floor(next() * pieces.length)];
      const results = decodeTextFrame(frame, { maxNames: 5, maxMessages: 10, state });
      expect(results.length).toBeLessThanOrEqual(10);
      for (const result of results) {
        if (!result.ok) continue;
        const message: Message = result.message;
        expect(TOPIC[message.topic]).toBeDefined();
        expect(Number.isInteger(message.action)).toBe(true);
        if (message.names) expect(message.names.length).toBeLessThanOrEqual(5);
        if (message.version !== undefined) expect(Number.isInteger(message.version)).toBe(true);
        // Data is JSON text except where it is passed on unparsed (O values and whole records).
        if (message.data !== undefined && !/^[[{]/.test(message.data)) {
          if (!(message.topic === TOPIC.RECORD || message.topic === TOPIC.AUTH)) {
            expect(() => JSON.parse(message.data as string), message.data).not.toThrow();
          }
        }
      }
    }
    expect(state.pendingHeads).toBeLessThanOrEqual(1000);
  });

  it('never writes what the 2.x client cannot parse, whatever the message holds', () => {
    const next = random(42);
    const strings = [
      '',
      'a',
      'a\x1fb',
      'x\x1e',
      '"q"',
      '{"a":1}',
      '7',
      'null',
      '\ud800',
      'H',
      'HD',
    ];
    const data = [
      undefined,
      '"s"',
      '"a\\u001fb"',
      '{"a":"\\u001e"}',
      '[1]',
      '3',
      '-2.5e-3',
      'true',
      'null',
      'not json',
      '"\x1f"',
      '{\x1e}',
    ];
    const pick = <T>(list: readonly T[]) => list[Math.floor(next() * list.length)] as T;
    const topics = [
      TOPIC.CONNECTION,
      TOPIC.AUTH,
      TOPIC.EVENT,
      TOPIC.RECORD,
      TOPIC.RPC,
      TOPIC.PRESENCE,
      TOPIC.PARSER,
    ];
    const letters: Record<number, string> = {
      2: 'C',
      3: 'A',
      4: 'E',
      5: 'R',
      6: 'P',
      7: 'U',
      1: 'X',
    };
    const state = new TextConnectionState();
    let written = 0;
    for (let i = 0; i < 20_000; i++) {
      const topic = pick(topics);
      const message: Message = { topic, action: Math.floor(next() * 40) + (next() < 0.3 ? 90 : 0) };
      if (next() < 0.7) message.name = pick(strings);
      if (next() < 0.5) message.correlationId = pick(strings);
      if (next() < 0.5) message.version = Math.floor(next() * 5) - 1;
      if (next() < 0.5) message.path = pick(strings);
      if (next() < 0.3) message.subscription = pick(strings);
      if (next() < 0.3) message.url = pick(strings);
      if (next() < 0.3) message.names = [pick(strings), pick(strings)];
      if (next() < 0.3) message.originalAction = Math.floor(next() * 30);
      const value = pick(data);
      if (value !== undefined) message.data = value;
      if (next() < 0.3) message.isAck = true;
      if (next() < 0.2) message.isWriteAck = true;
      const text = encodeTextMessage(message, state);
      if (text === null) continue;
      written++;
      expect(text.endsWith('\x1e')).toBe(true);
      const errors: unknown[] = [];
      const parsed = parser.parse(text, { _$onError: (...args: unknown[]) => errors.push(args) });
      expect(errors, JSON.stringify(message)).toEqual([]);
      for (const one of parsed) expect(one?.topic).toBe(letters[topic]);
    }
    expect(written).toBeGreaterThan(1000);
  });
});
