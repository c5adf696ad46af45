import { RECORD_ACTION, TOPIC } from '../../packages/protocol/src/index.ts';
import { type BenchClient, closeAll, openMany } from './client.ts';
import { Load, measure, type Rig } from './measure.ts';
import type { ServerProcess } from './servers.ts';
import { FrameReader, FrameWriter, nowMicros, readUint } from './wire.ts';

// Subscribe and read: R records that exist but that nobody holds (created,
// written once and let go in the set-up), and C readers, each in a loop of
// its own: SUBSCRIBECREATEANDREAD {names: [one record]} until its
// READ_RESPONSE (the figure: subscribe-and-read round trips and their
// latency), then UNSUBSCRIBE until its ack, then the next record. What
// `getRecord(name).whenReady()` and a later `discard()` cost a server: a
// record nobody holds is read from storage (Hubstream: its database, unless
// still cached; deepstream: its in-memory cache).

export type ReadOptions = { records: number; readers: number; payloadBytes: number; tag: string };

export async function openReadRig(server: ServerProcess, options: ReadOptions): Promise<Rig> {
  const names = Array.from({ length: options.records }, (_, r) => `${options.tag}/${r}`);
  const nameBytes = names.map((name) => Buffer.from(name));
  const writer = new FrameWriter();
  const reader = new FrameReader();

  // Set-up: one connection creates every record, writes it once, lets it go.
  const [creator] = await openMany(server.url, 1, `${options.tag}-c`);
  let readers: BenchClient[] = [];
  try {
    const padding = options.payloadBytes > 0 ? `,"pad":"${'x'.repeat(options.payloadBytes)}"` : '';
    let created = 0;
    let acked = false;
    let refused: number | undefined;
    await creator!.request(
      {
        topic: TOPIC.RECORD,
        action: RECORD_ACTION.SUBSCRIBECREATEANDREAD,
        names,
        correlationId: '1',
      },
      (m) => {
        if (m.topic !== TOPIC.RECORD) return false;
        if (m.isError) {
          refused = m.action;
          return true;
        }
        if (m.action === RECORD_ACTION.READ_RESPONSE) created++;
        if (m.action === RECORD_ACTION.SUBSCRIBECREATEANDREAD && m.isAck) acked = true;
        return acked && created === names.length;
      },
      'the creation of the records',
    );
    if (refused !== undefined) throw new Error(`record creation refused (action ${refused})`);
    // One write each, with an acknowledgement: all acked means all are written.
    let acks = 0;
    const written = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the records were not written')), 30_000);
      creator!.onFrame = (frame) => {
        if (!reader.read(frame) || reader.topic !== TOPIC.RECORD) return;
        if (reader.isError) {
          clearTimeout(timer);
          reject(new Error(`a record write was refused (action ${reader.action})`));
        } else if (
          reader.action === RECORD_ACTION.WRITE_ACKNOWLEDGEMENT &&
          ++acks === names.length
        ) {
          clearTimeout(timer);
          resolve();
        }
      };
    });
    names.forEach((_, r) => {
      creator!.send(
        writer
          .begin(RECORD_ACTION.UPDATE)
          .bytes(2, `{"r":${r}${padding}}`)
          .bytes(3, `w${r}`)
          .bytes(6, nameBytes[r]!)
          .varint(11, 1)
          .varint(13, 1)
          .finish(TOPIC.RECORD),
      );
    });
    await written;
    await creator!.request(
      { topic: TOPIC.RECORD, action: RECORD_ACTION.UNSUBSCRIBE, names, correlationId: '2' },
      (m) => m.topic === TOPIC.RECORD && m.action === RECORD_ACTION.UNSUBSCRIBE && m.isAck === true,
      'the release of the records',
    );
    readers = await openMany(server.url, options.readers, `${options.tag}-r`);
  } finally {
    await closeAll([creator!]);
  }

  const total = readers.length;
  const sentAt = new Float64Array(total);
  /** Per reader: the record it is reading or releasing, and whether the read is still due. */
  const current = new Int32Array(total);
  const reading = new Uint8Array(total);
  let inFlight = 0;
  let next = 0;
  let load: Load | undefined;

  const subscribe = (c: number) => {
    const r = next++ % names.length;
    current[c] = r;
    reading[c] = 1;
    inFlight++;
    sentAt[c] = nowMicros();
    readers[c]!.send(
      writer
        .begin(RECORD_ACTION.SUBSCRIBECREATEANDREAD)
        .bytes(3, `${c}`)
        .bytes(7, nameBytes[r]!)
        .finish(TOPIC.RECORD),
    );
  };
  const onFrame = (c: number, frame: Buffer) => {
    if (!reader.read(frame) || reader.topic !== TOPIC.RECORD) return;
    if (reader.isError) {
      if (load) load.errors++;
      if (reading[c]) {
        reading[c] = 0;
        inFlight--;
        if (load?.sending) subscribe(c);
      }
      return;
    }
    if (reader.action === RECORD_ACTION.READ_RESPONSE && reading[c]) {
      reading[c] = 0;
      inFlight--;
      load?.deliver(sentAt[c]!, nowMicros());
      const r = current[c]!;
      readers[c]!.send(
        writer
          .begin(RECORD_ACTION.UNSUBSCRIBE)
          .bytes(3, `${c}`)
          .bytes(7, nameBytes[r]!)
          .finish(TOPIC.RECORD),
      );
    } else if (reader.action === RECORD_ACTION.UNSUBSCRIBE && load?.sending) {
      // The ack of the release: the next read. (readUint keeps the id check cheap.)
      if (readUint(frame, reader.cidStart, reader.cidEnd) === c) subscribe(c);
    }
  };
  readers.forEach((client, c) => {
    client.onFrame = (frame) => onFrame(c, frame);
  });

  return {
    async measure(settings) {
      const started = new Load(
        () => {
          for (let c = 0; c < total; c++) subscribe(c);
        },
        () => inFlight,
      );
      load = started;
      try {
        return await measure(server, started, settings);
      } finally {
        load = undefined;
      }
    },
    close: () => closeAll(readers),
  };
}
