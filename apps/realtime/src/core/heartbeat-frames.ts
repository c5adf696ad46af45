import { CONNECTION_ACTION, encodeMessage, type Message, TOPIC } from '@hubstream/protocol';

// The connection heartbeat's frames: the PONG a connection answers a PING
// with (encoded once for every connection), and the two tests.

export const PONG = encodeMessage({ topic: TOPIC.CONNECTION, action: CONNECTION_ACTION.PONG });

export const isPing = (message: Message) =>
  message.topic === TOPIC.CONNECTION && message.action === CONNECTION_ACTION.PING;
export const isPong = (message: Message) =>
  message.topic === TOPIC.CONNECTION && message.action === CONNECTION_ACTION.PONG;
