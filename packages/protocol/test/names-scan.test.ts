import { describe, expect, it } from 'vitest';
import {
  decodeFrame,
  EVENT_ACTION,
  encodeMessage,
  type Message,
  PRESENCE_ACTION,
  RECORD_ACTION,
  RPC_ACTION,
  TOPIC,
} from '../src/index.ts';

const names = (n: number) => Array.from({ length: n }, (_, i) => `name/${i}`);

/** The frame with its last name's length past the end of the message: malformed inside, whole outside. */
function lastNameOverrunning(frame: Uint8Array, lastName: string): Uint8Array {
  const bytes = new Uint8Array(frame);
  const at = Buffer.from(bytes).lastIndexOf(Buffer.from(lastName));
  bytes[at - 1] = 0x7f;
  return bytes;
}

describe('decodeFrame with maxNames', () => {
  const cases = [
    { topic: TOPIC.EVENT, action: EVENT_ACTION.SUBSCRIBE },
    { topic: TOPIC.RECORD, action: RECORD_ACTION.SUBSCRIBECREATEANDREAD },
    { topic: TOPIC.RPC, action: RPC_ACTION.PROVIDE },
    { topic: TOPIC.PRESENCE, action: PRESENCE_ACTION.SUBSCRIBE },
  ];

  for (const { topic, action } of cases) {
    it(`refuses topic ${topic} with more names than allowed, naming its action, first name and correlation id`, () => {
      const frame = encodeMessage({ topic, action, names: names(11), correlationId: 'c9' });
      const decoded = decodeFrame(frame, { maxNames: 10 });
      expect(decoded).toEqual({
        ok: false,
        reason: 'TOO_MANY_NAMES',
        topic,
        overCap: {
          count: 11,
          message: { topic, action, names: ['name/0'], correlationId: 'c9' },
        },
      });
    });

    it(`decodes topic ${topic} at the cap as usual`, () => {
      const frame = encodeMessage({ topic, action, names: names(10) });
      const decoded = decodeFrame(frame, { maxNames: 10 });
      expect(decoded.ok && (decoded.message as Message).names).toEqual(names(10));
    });
  }

  it('leaves malformed inner bytes before the cap is passed to the real decoder', () => {
    const frame = encodeMessage({
      topic: TOPIC.EVENT,
      action: EVENT_ACTION.SUBSCRIBE,
      names: names(3),
    });
    // Its last name runs past the message's end: a parse error, never a names refusal.
    const decoded = decodeFrame(lastNameOverrunning(frame, 'name/2'), { maxNames: 3 });
    expect(decoded.ok).toBe(false);
    expect(decoded.ok === false && decoded.reason).not.toBe('TOO_MANY_NAMES');
  });

  it('stops at the first name over the cap: nothing after it is read', () => {
    const frame = encodeMessage({
      topic: TOPIC.EVENT,
      action: EVENT_ACTION.SUBSCRIBE,
      names: names(3),
      correlationId: 'c2',
    });
    // The same malformed name, past the cap: refused by the cap, as the whole frame is.
    for (const bytes of [frame, lastNameOverrunning(frame, 'name/2')]) {
      const decoded = decodeFrame(bytes, { maxNames: 1 });
      expect(
        decoded.ok === false && decoded.reason === 'TOO_MANY_NAMES' && decoded.overCap,
      ).toEqual({
        count: 2,
        message: {
          topic: TOPIC.EVENT,
          action: EVENT_ACTION.SUBSCRIBE,
          names: ['name/0'],
          correlationId: 'c2',
        },
      });
    }
  });

  it('counts the shortest names (empty: two bytes each), so no message over the cap is too short to walk', () => {
    const frame = encodeMessage({
      topic: TOPIC.EVENT,
      action: EVENT_ACTION.SUBSCRIBE,
      names: ['', '', ''],
    });
    const decoded = decodeFrame(frame, { maxNames: 2 });
    expect(decoded.ok === false && decoded.reason === 'TOO_MANY_NAMES' && decoded.overCap).toEqual({
      count: 3,
      message: { topic: TOPIC.EVENT, action: EVENT_ACTION.SUBSCRIBE, names: [''] },
    });
  });

  it('takes non-ASCII first names intact', () => {
    const frame = encodeMessage({
      topic: TOPIC.EVENT,
      action: EVENT_ACTION.SUBSCRIBE,
      names: ['wetter/zürich', 'x', 'y'],
    });
    const decoded = decodeFrame(frame, { maxNames: 2 });
    expect(
      decoded.ok === false && decoded.reason === 'TOO_MANY_NAMES' && decoded.overCap.message.names,
    ).toEqual(['wetter/zürich']);
  });

  it('walks names of 128 bytes and more (lengths of two varint bytes) like short ones', () => {
    const long = (i: number) => `${'n'.repeat(300)}/${i}`;
    const frame = encodeMessage({
      topic: TOPIC.EVENT,
      action: EVENT_ACTION.SUBSCRIBE,
      names: [long(0), 'short', long(2)],
      correlationId: 'c1',
    });
    const decoded = decodeFrame(frame, { maxNames: 2 });
    expect(decoded.ok === false && decoded.reason === 'TOO_MANY_NAMES' && decoded.overCap).toEqual({
      count: 3,
      message: {
        topic: TOPIC.EVENT,
        action: EVENT_ACTION.SUBSCRIBE,
        names: [long(0)],
        correlationId: 'c1',
      },
    });
  });
});
