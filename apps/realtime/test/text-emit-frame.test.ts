import { decodeFrame, EVENT_ACTION, encodeMessage, TOPIC } from '@hubstream/protocol';
import { describe, expect, it } from 'vitest';
import { encodeEmit } from '../src/events/emit-frame.ts';
import { readEmitFrame, TextCodec } from '../src/gateway/text-codec.ts';

// A 2.x subscriber's copy of an event is read from the fan-out's EMIT frame
// by hand (readEmitFrame) rather than through decodeFrame: it must give the
// message decodeFrame gives, hence the same text, and step aside for any
// frame it does not know the layout of.

const cases: [string, string | undefined][] = [
  ['chat', '{"text":"hi"}'],
  ['chat', undefined],
  ['chat', ''],
  ['n', '1'],
  ['s', '"a string"'],
  ['é/ü/名前/🙂', '"ö🙂"'],
  ['x'.repeat(127), 'y'.repeat(127)],
  ['x'.repeat(128), '['.concat('1,'.repeat(100), '2]')],
  ['x'.repeat(200), JSON.stringify('y'.repeat(16_383))],
  ['x', JSON.stringify({ y: 'z'.repeat(20_000) })],
];

describe('readEmitFrame', () => {
  it.each(cases)('reads what decodeFrame reads (case %#)', (name, data) => {
    const frame = encodeEmit(name, data);
    const decoded = decodeFrame(new Uint8Array(frame), { anyTopic: true });
    expect(decoded.ok).toBe(true);
    const ours = readEmitFrame(frame);
    if (!decoded.ok) return;
    // decodeFrame also gives an empty names list, which an EMIT never reads.
    const { names, ...message } = decoded.message;
    expect(names ?? []).toEqual([]);
    expect(ours).toEqual(message);
    // And the 2.x client's text of it is the same either way.
    const text = new TextCodec().translate(frame);
    // (Data that is not JSON, '' or yyy…, has no text form either way: null.)
    expect(text?.toString()).toBe(new TextCodec().encode(decoded.message)?.toString());
  });

  it('writes the E|EVT the 2.x client reads', () => {
    const text = new TextCodec().translate(encodeEmit('chat', '{"text":"hi"}'));
    expect(text?.toString()).toBe('E\x1fEVT\x1fchat\x1fO{"text":"hi"}\x1e');
  });

  it("shares one event's text across a fan-out, and never mixes events up", () => {
    const a = encodeEmit('a', '"one"');
    const b = encodeEmit('b', '"two"');
    const [first, second] = [new TextCodec(), new TextCodec()];
    const textA = first.translate(a);
    // The second subscriber of the same frame gets the very same bytes.
    expect(second.translate(a)).toBe(textA);
    // Frames alternating (another event, a non-event frame in between) each keep their own text.
    const subscribe = new Uint8Array(
      encodeMessage({
        topic: TOPIC.EVENT,
        action: EVENT_ACTION.SUBSCRIBE,
        names: ['n'],
        correlationId: 'n',
        isAck: true,
      }),
    );
    const order = [a, b, subscribe, a, b, a];
    const texts = order.map((frame) => second.translate(frame)?.toString());
    expect(texts).toEqual([
      'E\x1fEVT\x1fa\x1fSone\x1e',
      'E\x1fEVT\x1fb\x1fStwo\x1e',
      'E\x1fA\x1fS\x1fn\x1e',
      'E\x1fEVT\x1fa\x1fSone\x1e',
      'E\x1fEVT\x1fb\x1fStwo\x1e',
      'E\x1fEVT\x1fa\x1fSone\x1e',
    ]);
  });

  it('gives way on frames of another layout', () => {
    const others = [
      // A generic EMIT with an extra field (a correlation id).
      encodeMessage({
        topic: TOPIC.EVENT,
        action: EVENT_ACTION.EMIT,
        name: 'n',
        data: '1',
        correlationId: '7',
      }),
      // Another event action, another topic.
      encodeMessage({
        topic: TOPIC.EVENT,
        action: EVENT_ACTION.SUBSCRIBE,
        names: ['n'],
        correlationId: '1',
      }),
      encodeMessage({ topic: TOPIC.RPC, action: 1, name: 'n' }),
    ].map((frame) => new Uint8Array(frame));
    const good = encodeEmit('name', '{"a":1}');
    for (const frame of others) expect(readEmitFrame(frame)).toBeUndefined();
    // Cut short, one byte longer, or a length that runs past the end.
    expect(readEmitFrame(good.subarray(0, good.length - 1))).toBeUndefined();
    expect(readEmitFrame(Buffer.concat([good, Buffer.from([0])]))).toBeUndefined();
    const lying = Buffer.from(good);
    lying[lying.indexOf(0x12) + 1] = 0x7f;
    expect(readEmitFrame(lying)).toBeUndefined();
    expect(readEmitFrame(new Uint8Array(0))).toBeUndefined();
    expect(readEmitFrame(new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff]))).toBeUndefined();
  });

  it('reads a frame that is a view into a larger buffer', () => {
    const frame = encodeEmit('room/1', '[1,2]');
    const big = Buffer.concat([Buffer.from('junk'), frame, Buffer.from('tail')]);
    const view = new Uint8Array(big.buffer, big.byteOffset + 4, frame.length);
    expect(readEmitFrame(view)).toEqual({
      topic: TOPIC.EVENT,
      action: EVENT_ACTION.EMIT,
      name: 'room/1',
      data: '[1,2]',
    });
  });
});
