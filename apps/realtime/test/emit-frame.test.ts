import { decodeFrame, EVENT_ACTION, encodeMessage, TOPIC } from '@hubstream/protocol';
import { describe, expect, it } from 'vitest';
import { encodeEmit } from '../src/events/emit-frame.ts';

// The hand-written EMIT frame of the fan-out is byte for byte the generic
// encoder's, across the varint lengths and UTF-8 widths it must get right.

const generic = (name: string, data: string | undefined) =>
  Buffer.from(
    encodeMessage({
      topic: TOPIC.EVENT,
      action: EVENT_ACTION.EMIT,
      name,
      ...(data === undefined ? {} : { data }),
    }),
  );

describe('encodeEmit', () => {
  const cases: [string, string | undefined][] = [
    ['chat', '{"text":"hi"}'],
    ['chat', undefined],
    ['chat', ''],
    ['n', '1'],
    ['é/ü/名前/🙂', '"ö🙂"'],
    ['x'.repeat(127), 'y'.repeat(127)],
    ['x'.repeat(128), 'y'.repeat(128)],
    ['x'.repeat(200), 'y'.repeat(16_383)],
    ['x', 'y'.repeat(16_384)],
    ['long', JSON.stringify('🙂'.repeat(40_000))],
  ];

  it.each(cases)('writes what @deepstream/protobuf writes (name %#)', (name, data) => {
    const ours = Buffer.from(encodeEmit(name, data));
    expect(ours.equals(generic(name, data))).toBe(true);
    const decoded = decodeFrame(new Uint8Array(ours), { anyTopic: true, maxNames: 1 });
    expect(decoded.ok && decoded.message).toMatchObject({
      topic: TOPIC.EVENT,
      action: EVENT_ACTION.EMIT,
      name,
      ...(data === undefined ? {} : { data }),
    });
  });
});
