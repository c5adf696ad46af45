import { type Message, type RECORD_ACTION, TOPIC } from '@hubstream/protocol';
import { connectWire, type Wire } from '@hubstream/testing';

// The wire client narrowed to the RECORD topic: sends RECORD frames and
// matches only RECORD replies.

export type RecordWire = {
  readonly received: Message[];
  send(fields: Omit<Message, 'topic'>): void;
  next(match: (m: Message) => boolean): Promise<Message>;
  sync(): Promise<void>;
  /** RECORD messages received and not taken by `next`. */
  untaken(): Message[];
  close(): Promise<void>;
};

const isRecord = (m: Message) => m.topic === TOPIC.RECORD;

export async function connectRecordWire(url: string, username: string): Promise<RecordWire> {
  const wire: Wire = await connectWire(url, username);
  return {
    received: wire.received,
    send: (fields) => wire.send({ topic: TOPIC.RECORD, ...fields }),
    next: (match) => wire.next((m) => isRecord(m) && match(m)),
    sync: () => wire.sync(),
    untaken: () => wire.untaken().filter(isRecord),
    close: () => wire.close(),
  };
}

/** Matches a RECORD message by action and, when given, name. */
export const isAction =
  (action: RECORD_ACTION, name?: string) =>
  (m: Message): boolean =>
    m.action === action && (name === undefined || m.name === name);
