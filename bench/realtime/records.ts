import { RECORD_ACTION, TOPIC } from '../../packages/protocol/src/index.ts';
import { type BenchClient, closeAll, openMany } from './client.ts';
import { Load, measure, type Rig } from './measure.ts';
import type { ServerProcess } from './servers.ts';
import { FrameReader, FrameWriter, nowMicros, readUint, uintEnd } from './wire.ts';

// Record updates: R records, each with one writer of its own (which holds the
// record, as `record.set` in the official client does) and K subscribers
// that hold every record. A writer sends UPDATE {name, version: v+1, data}
// with data {"t": sentMicros, ...}; it keeps `window` updates in flight.
//
// Plain `set` (no write acknowledgement): an update counts as done once all K
// subscribers have it. Hubstream persists such writes shortly after, in the
// background, and that work is part of what is measured.
//
// `setWithAck` (writeAck): the update carries isWriteAck and a correlation
// id "record.sentMicros", and counts as done when the writer has its
// WRITE_ACKNOWLEDGEMENT, which Hubstream sends once the write is durable in
// its database (deepstream once its cache and storage have it: its default
// storage is memory). The subscribers still get every update.

export type RecordOptions = {
  records: number;
  subscribers: number;
  window: number;
  payloadBytes: number;
  tag: string;
  writeAck: boolean;
};

const DATA_PREFIX = 5; // {"t":

/** Connects the writers and subscribers and subscribes them to the records. */
export async function openRecordRig(server: ServerProcess, options: RecordOptions): Promise<Rig> {
  const { records, subscribers: perRecord, window } = options;
  const nameOf = (r: number) => `${options.tag}/${r}`;
  const names = Array.from({ length: records }, (_, r) => nameOf(r));
  const nameStart = `${options.tag}/`.length;
  const subscribers = await openMany(server.url, perRecord, `${options.tag}-s`);
  let writers: BenchClient[] = [];
  // Everyone holds the records; the writers learn the current versions.
  const versions = new Float64Array(records);
  try {
    writers = await openMany(server.url, records, `${options.tag}-w`);
    const subscribe = async (client: BenchClient, wanted: string[]) => {
      const pending = new Set(wanted);
      let refused: number | undefined;
      // deepstream acks before its READ_RESPONSEs, Hubstream after: done when both are in.
      let acked = false;
      await client.request(
        {
          topic: TOPIC.RECORD,
          action: RECORD_ACTION.SUBSCRIBECREATEANDREAD,
          names: wanted,
          correlationId: '1',
        },
        (m) => {
          if (m.topic !== TOPIC.RECORD) return false;
          if (m.isError) {
            refused = m.action;
            return true;
          }
          if (m.action === RECORD_ACTION.READ_RESPONSE && m.name !== undefined) {
            pending.delete(m.name);
            const r = names.indexOf(m.name);
            if (r >= 0) versions[r] = Math.max(versions[r]!, m.version ?? 0);
          }
          if (m.action === RECORD_ACTION.SUBSCRIBECREATEANDREAD && m.isAck === true) acked = true;
          return acked && pending.size === 0;
        },
        `the record subscription of ${client.username}`,
      );
      if (refused !== undefined) {
        throw new Error(`${client.username}: record subscription refused (action ${refused})`);
      }
      if (pending.size > 0)
        throw new Error(`${client.username}: no READ_RESPONSE for ${[...pending]}`);
    };
    await Promise.all(subscribers.map((client) => subscribe(client, names)));
    await Promise.all(writers.map((client, r) => subscribe(client, [names[r]!])));
  } catch (error) {
    await closeAll([...writers, ...subscribers]);
    throw error;
  }

  const sent = new Float64Array(records);
  const received = new Float64Array(records);
  const writer = new FrameWriter();
  const padding = options.payloadBytes > 0 ? `,"pad":"${'x'.repeat(options.payloadBytes)}"` : '';
  const nameBytes = names.map((name) => Buffer.from(name));
  const reader = new FrameReader();
  let load: Load | undefined;

  const send = (r: number) => {
    sent[r]! += 1;
    versions[r]! += 1;
    const now = nowMicros();
    writer.begin(RECORD_ACTION.UPDATE).bytes(2, `{"t":${now}${padding}}`);
    if (options.writeAck) writer.bytes(3, `${r}.${now}`);
    writer.bytes(6, nameBytes[r]!);
    if (options.writeAck) writer.varint(11, 1);
    writers[r]!.send(writer.varint(13, versions[r]!).finish(TOPIC.RECORD));
  };
  const refill = (r: number) => {
    while (load?.sending && sent[r]! * perRecord - received[r]! < window * perRecord) send(r);
  };
  const onUpdate = (frame: Buffer) => {
    // With write acks, the writer's acknowledgement ends an update.
    if (options.writeAck) return;
    if (!reader.read(frame) || reader.topic !== TOPIC.RECORD) return;
    if (reader.action !== RECORD_ACTION.UPDATE || reader.dataStart < 0) {
      if (reader.isError && load) load.errors++;
      return;
    }
    const r = readUint(frame, reader.nameStart + nameStart, reader.nameEnd);
    load?.deliver(readUint(frame, reader.dataStart + DATA_PREFIX), nowMicros());
    received[r]! += 1;
    refill(r);
  };
  for (const client of subscribers) client.onFrame = onUpdate;
  // A writer hears back only about trouble (VERSION_EXISTS and other errors).
  // The write is over: it counts as an error and frees its place in the window.
  const onWriterReply = (frame: Buffer) => {
    if (!reader.read(frame) || reader.topic !== TOPIC.RECORD) return;
    if (reader.action === RECORD_ACTION.WRITE_ACKNOWLEDGEMENT && !reader.isError) {
      if (!options.writeAck || reader.cidStart < 0) return;
      const r = readUint(frame, reader.cidStart, reader.cidEnd);
      load?.deliver(readUint(frame, uintEnd + 1, reader.cidEnd), nowMicros());
      received[r]! += perRecord;
      refill(r);
      return;
    }
    if (!reader.isError && reader.action !== RECORD_ACTION.VERSION_EXISTS) return;
    if (load) load.errors++;
    if (reader.nameStart < 0) return;
    const r = readUint(frame, reader.nameStart + nameStart, reader.nameEnd);
    received[r]! += perRecord;
    refill(r);
  };
  for (const client of writers) client.onFrame = onWriterReply;

  return {
    async measure(settings) {
      sent.fill(0);
      received.fill(0);
      const current = new Load(
        () => {
          for (let r = 0; r < records; r++) refill(r);
        },
        () => {
          let missing = 0;
          for (let r = 0; r < records; r++) missing += sent[r]! * perRecord - received[r]!;
          return missing;
        },
      );
      load = current;
      try {
        const result = await measure(server, current, settings);
        // Without acks each update reaches every subscriber: the rate is of updates applied.
        return options.writeAck ? result : { ...result, rate: result.rate / perRecord };
      } finally {
        load = undefined;
      }
    },
    close: () => closeAll([...writers, ...subscribers]),
  };
}
