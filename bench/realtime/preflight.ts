import { execFileSync } from 'node:child_process';
import {
  decodeTextFrame,
  EVENT_ACTION,
  encodeMessage,
  encodeTextMessage,
  type Message,
  PRESENCE_ACTION,
  RECORD_ACTION,
  RPC_ACTION,
  TOPIC,
} from '../../packages/protocol/src/index.ts';
import { BenchClient } from './client.ts';
import { textDeliveries } from './events.ts';
import type { ServerProcess } from './servers.ts';
import { RS, textEmitPrefix } from './text-client.ts';
import { FrameReader, FrameWriter } from './wire.ts';

// What the bench checks before it measures anything.

const text = (frame: Uint8Array, start: number, end: number) =>
  Buffer.from(frame.subarray(start, end)).toString();

/**
 * The text lane's hand-built emit is what the text codec reads as the
 * protobuf lane's EMIT, and what it writes back to a 2.x subscriber is what
 * the lane reads the send time and publisher from.
 */
function checkTextWire(): void {
  const frame = `${textEmitPrefix('n/1')}[17,2]${RS}`;
  const [decoded] = decodeTextFrame(frame);
  const message = decoded?.ok ? decoded.message : undefined;
  if (
    message?.topic !== TOPIC.EVENT ||
    message.action !== EVENT_ACTION.EMIT ||
    message.name !== 'n/1' ||
    message.data !== '[17,2]'
  ) {
    throw new Error(
      `the text codec does not read the bench's E|EVT as an EMIT: ${JSON.stringify(decoded)}`,
    );
  }
  const back = encodeTextMessage(message);
  let read = '';
  textDeliveries(
    (sentAt, p) => (read += `${sentAt},${p};`),
    () => {},
  )(Buffer.from(`${back}${back}`));
  if (read !== '17,2;17,2;') {
    throw new Error(
      `the bench reads ${JSON.stringify(read)} from the text codec's ${JSON.stringify(back)} twice`,
    );
  }
}

/** The hand-built frames of the load generator are what the real codec writes. */
export function checkWire(): void {
  checkTextWire();
  const writer = new FrameWriter();
  const same = (ours: Uint8Array, message: Message, what: string) => {
    if (Buffer.compare(Buffer.from(ours), Buffer.from(encodeMessage(message))) !== 0) {
      throw new Error(`the bench's ${what} frame differs from @deepstream/protobuf's`);
    }
  };
  same(
    writer.begin(EVENT_ACTION.EMIT).bytes(2, '[1,2]').bytes(6, 'n/1').finish(TOPIC.EVENT),
    { topic: TOPIC.EVENT, action: EVENT_ACTION.EMIT, data: '[1,2]', name: 'n/1' },
    'EMIT',
  );
  same(
    writer
      .begin(RECORD_ACTION.UPDATE)
      .bytes(2, '{"t":5}')
      .bytes(6, 'r/7')
      .varint(13, 300)
      .finish(TOPIC.RECORD),
    {
      topic: TOPIC.RECORD,
      action: RECORD_ACTION.UPDATE,
      data: '{"t":5}',
      name: 'r/7',
      version: 300,
    },
    'UPDATE',
  );
  same(
    writer
      .begin(RPC_ACTION.RESPONSE)
      .bytes(2, '"x"'.repeat(100))
      .bytes(3, '3.1')
      .bytes(7, 'e')
      .finish(TOPIC.RPC),
    {
      topic: TOPIC.RPC,
      action: RPC_ACTION.RESPONSE,
      data: '"x"'.repeat(100),
      correlationId: '3.1',
      name: 'e',
    },
    'RESPONSE',
  );
  same(
    writer
      .begin(RECORD_ACTION.UPDATE)
      .bytes(2, '{"t":5}')
      .bytes(3, '7.12')
      .bytes(6, 'r/7')
      .varint(11, 1)
      .varint(13, 2)
      .finish(TOPIC.RECORD),
    {
      topic: TOPIC.RECORD,
      action: RECORD_ACTION.UPDATE,
      data: '{"t":5}',
      correlationId: '7.12',
      name: 'r/7',
      isWriteAck: true,
      version: 2,
    },
    'UPDATE with a write acknowledgement',
  );
  same(
    writer.begin(RECORD_ACTION.UNSUBSCRIBE).bytes(3, '4.5').bytes(7, 'r/1').finish(TOPIC.RECORD),
    {
      topic: TOPIC.RECORD,
      action: RECORD_ACTION.UNSUBSCRIBE,
      correlationId: '4.5',
      names: ['r/1'],
    },
    'UNSUBSCRIBE',
  );
  same(
    writer
      .begin(PRESENCE_ACTION.QUERY)
      .bytes(5, '3.9')
      .bytes(9, 'a')
      .bytes(9, 'b')
      .finish(TOPIC.PRESENCE),
    {
      topic: TOPIC.PRESENCE,
      action: PRESENCE_ACTION.QUERY,
      correlationId: '3.9',
      names: ['a', 'b'],
    },
    'presence QUERY',
  );
  const presenceReader = new FrameReader();
  const presence = encodeMessage({
    topic: TOPIC.PRESENCE,
    action: PRESENCE_ACTION.QUERY_RESPONSE,
    correlationId: '3.9',
    data: '{"a":true}',
    isError: true,
  });
  if (
    !presenceReader.read(presence) ||
    presenceReader.action !== PRESENCE_ACTION.QUERY_RESPONSE ||
    !presenceReader.isError ||
    text(presence, presenceReader.cidStart, presenceReader.cidEnd) !== '3.9' ||
    text(presence, presenceReader.dataStart, presenceReader.dataEnd) !== '{"a":true}'
  ) {
    throw new Error("the bench's frame reader misreads a presence QUERY_RESPONSE");
  }
  const reader = new FrameReader();
  const frame = encodeMessage({
    topic: TOPIC.RECORD,
    action: RECORD_ACTION.READ_RESPONSE,
    name: 'abc',
    version: -1,
    data: '{}',
    isError: true,
    correlationId: 'c',
  });

  if (
    !reader.read(frame) ||
    reader.topic !== TOPIC.RECORD ||
    reader.action !== RECORD_ACTION.READ_RESPONSE ||
    reader.version !== -1 ||
    !reader.isError ||
    text(frame, reader.nameStart, reader.nameEnd) !== 'abc' ||
    text(frame, reader.dataStart, reader.dataEnd) !== '{}' ||
    text(frame, reader.cidStart, reader.cidEnd) !== 'c'
  ) {
    throw new Error("the bench's frame reader misreads a READ_RESPONSE");
  }
}

/** The Valve rule is live: an emit by the user 'blocked' is refused (on Hubstream and deepstream alike). */
export async function checkRule(server: ServerProcess): Promise<void> {
  const client = await BenchClient.open(server.url, 'blocked');
  try {
    const reply = await client.request(
      { topic: TOPIC.EVENT, action: EVENT_ACTION.EMIT, name: 'rule-check', data: '1' },
      (m) => m.topic === TOPIC.EVENT,
      'the emit of the blocked user',
      10_000,
    );
    if (reply.action !== EVENT_ACTION.MESSAGE_DENIED) {
      throw new Error(`expected MESSAGE_DENIED for the blocked user, got action ${reply.action}`);
    }
  } finally {
    await client.close();
  }
}

export function openFileLimit(): number {
  try {
    return Number(execFileSync('/bin/sh', ['-c', 'ulimit -n'], { encoding: 'utf8' }).trim());
  } catch {
    return Number.NaN;
  }
}
