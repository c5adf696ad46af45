import {
  encodeMessage,
  type Message,
  RECORD_ACTION,
  recordInvalid,
  TOPIC,
} from '@hubstream/protocol';
import { jsonOf, type StoredRecord } from '@hubstream/records';
import type { Connection } from '../core/connection.ts';
import { isSeveral, type Subscribers } from '../core/subscriptions.ts';

// Messages the record handler sends. Error replies carry what the client
// needs to match them to its request: the original action, the name, the
// correlation id and the write-ack flag (PROTOCOL.md 4.5, 4.6).

export function errorReply(message: Message, action: number, fields: Partial<Message> = {}) {
  const reply: Message = {
    topic: TOPIC.RECORD,
    action,
    originalAction: message.action,
    isError: true,
    ...fields,
  };
  if (message.name !== undefined && reply.name === undefined) reply.name = message.name;
  if (message.correlationId !== undefined) reply.correlationId = message.correlationId;
  if (message.isWriteAck) reply.isWriteAck = true;
  return reply;
}

/** A path or data the write cannot use: the same reply as the codec's for a malformed message. */
export function sendInvalid(connection: Connection, message: Message): void {
  connection.send(recordInvalid(message));
}

/** The ack of a bulk request: its action and correlation id echoed. */
export function sendAck(connection: Connection, message: Message): void {
  connection.send({
    topic: TOPIC.RECORD,
    action: message.action,
    ...(message.correlationId === undefined ? {} : { correlationId: message.correlationId }),
    isAck: true,
  });
}

export function readResponse(name: string, record: StoredRecord | null): Message {
  return {
    topic: TOPIC.RECORD,
    action: RECORD_ACTION.READ_RESPONSE,
    name,
    // The version must be on the wire even when 0 (PROTOCOL.md 1.6).
    version: record === null ? -1 : record.version,
    data: record === null ? '{}' : jsonOf(record),
  };
}

/** Sends one frame, encoded once, to every connection (one, a set or a list) but `except`. */
export function fanOut(
  connections: Subscribers<Connection> | readonly Connection[] | undefined,
  message: Message,
  except?: Connection,
): void {
  if (!connections) return;
  const several: Iterable<Connection> | undefined = Array.isArray(connections)
    ? connections
    : isSeveral(connections as Subscribers<Connection>)
      ? (connections as ReadonlySet<Connection>)
      : undefined;
  if (!several) {
    const one = connections as Connection;
    if (one !== except) one.sendFrame(encodeMessage(message), message.topic);
    return;
  }
  let frame: Uint8Array | undefined;
  for (const connection of several) {
    if (connection === except) continue;
    frame ??= encodeMessage(message);
    connection.sendFrame(frame, message.topic);
  }
}
