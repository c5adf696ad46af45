import { describe, expect, it } from 'vitest';
import { decodeFrame, encodeMessage, RECORD_ACTION, TOPIC } from '../src/index.ts';

describe('codec', () => {
  it('round-trips a message and keeps fields set to their default values', () => {
    const frame = encodeMessage({
      topic: TOPIC.RECORD,
      action: RECORD_ACTION.READ_RESPONSE,
      name: 'r',
      version: 0,
      data: '{}',
      isAck: false,
    });
    // The bytes PROTOCOL.md §1.3 shows for this READ_RESPONSE (plus isAck).
    // A server message: read as a client-side tool does, unchecked.
    const decoded = decodeFrame(frame, { anyTopic: true });
    expect(decoded).toEqual({
      ok: true,
      message: {
        topic: TOPIC.RECORD,
        action: RECORD_ACTION.READ_RESPONSE,
        name: 'r',
        version: 0,
        data: '{}',
        isAck: false,
        names: [],
        versions: {},
      },
    });
  });

  it('encodes version -1 and maps of versions', () => {
    const decoded = decodeFrame(
      encodeMessage({
        topic: TOPIC.RECORD,
        action: RECORD_ACTION.HEAD_RESPONSE_BULK,
        versions: { r: 2, s: -1 },
      }),
      { anyTopic: true },
    );
    expect(decoded.ok && decoded.message.versions).toEqual({ r: 2, s: -1 });
  });

  it('matches the captured bytes of an ack', () => {
    const frame = encodeMessage({ topic: TOPIC.EVENT, action: 3, correlationId: '0', isAck: true });
    expect(Buffer.from(frame).toString('hex')).toBe(
      '0b1004 1a07 0803 1a0130 2801'.replaceAll(' ', ''),
    );
  });

  it('reports garbage and unknown or server-only topics', () => {
    expect(decodeFrame(new Uint8Array([0xff, 0xff, 0xff]))).toEqual({
      ok: false,
      reason: 'MESSAGE_PARSE_ERROR',
    });
    expect(decodeFrame(new Uint8Array([]))).toMatchObject({ ok: false });
    const cluster = encodeMessage({ topic: TOPIC.CLUSTER, action: 1 });
    expect(decodeFrame(cluster)).toEqual({
      ok: false,
      reason: 'UNKNOWN_TOPIC',
      topic: TOPIC.CLUSTER,
    });
  });
});
