import { EVENT_ACTION, TOPIC } from '../../packages/protocol/src/index.ts';
import { type BenchClient, closeAll, openMany } from './client.ts';
import { type CpuSource, Load, measure, type Result, type Settings } from './measure.ts';
import type { ServerProcess } from './servers.ts';
import {
  closeAllText,
  forEachMessage,
  messageStarts,
  openManyText,
  RS,
  type TextBenchClient,
  textEmitPrefix,
  US,
  US_BYTE,
} from './text-client.ts';
import { FrameReader, FrameWriter, nowMicros, readUint, uintEnd } from './wire.ts';

// Events: G names, each with P publishers and S subscribers (publishers are
// not subscribed, so nothing is held back as an echo). Fan-out is G=1, P=10,
// S=100; one-to-one is G=100, P=1, S=1. Each emit carries its send time and
// its publisher: data is the JSON array [sentMicros, publisher, "padding"?].
//
// Closed loop: each publisher keeps `window` emits in flight, an emit
// counting as delivered once all S subscribers of its name have it, so the
// rate is the most the server delivers. Paced: emits leave at a fixed total
// rate, spread over the publishers, whatever comes back.

export type EventShape = { names: number; publishers: number; subscribers: number };
export type Pacing = { kind: 'closed'; window: number } | { kind: 'paced'; emitsPerSec: number };
export type EventResult = Result & {
  sentRate: number;
  /** Over the whole measurement (warm-up and drain included): deliveries due and made. */
  expected: number;
  received: number;
};

export type EventRig = {
  measure(settings: Settings, pacing: Pacing): Promise<EventResult>;
  close(): Promise<void>;
};

/** Most emits sent in one turn of the paced loop, also when it has fallen behind. */
const MAX_BURST = 256;

/** Where each publisher and subscriber connects (by index), on a cluster of nodes. */
export type Placement = {
  publisher(index: number): string;
  subscriber(index: number): string;
};

/**
 * The load's side of one protocol: connections, subscription, an emit, and
 * the deliveries a frame holds (a text frame may hold several).
 */
type Transport = {
  readonly clients: readonly { close(): Promise<void> }[];
  /** Sends publisher p's emit of `data` (JSON) on its name. */
  emit(p: number, data: string): void;
  onSubscriberFrame(handler: (frame: Buffer) => void): void;
  onPublisherFrame(handler: (frame: Buffer) => void): void;
};

/** Connects and subscribes the publishers and subscribers of one event shape. */
export async function openEventRig(
  server: ServerProcess | (CpuSource & { url: string }),
  shape: EventShape,
  options: {
    payloadBytes: number;
    tag: string;
    placement?: Placement;
    /** protobuf (the v7 client's frames, the default) or text (the 2.x client's). */
    protocol?: 'protobuf' | 'text';
  },
): Promise<EventRig> {
  const { names, publishers: perName, subscribers: perNameSubs } = shape;
  const nameOf = (g: number) => `${options.tag}/${g}`;
  const open = options.protocol === 'text' ? openTextTransport : openProtobufTransport;
  const transport = await open(
    options.placement ?? { publisher: () => server.url, subscriber: () => server.url },
    shape,
    nameOf,
    options.tag,
  );

  const total = names * perName;
  const sent = new Float64Array(total);
  const received = new Float64Array(total);
  const padding = options.payloadBytes > 0 ? `,"${'x'.repeat(options.payloadBytes)}"` : '';
  // The measurement under way; frames that arrive between measurements only count as received.
  let load: Load | undefined;
  let window = 0;
  let sentInWindow = 0;

  const send = (p: number) => {
    sent[p]! += 1;
    if (load?.counting) sentInWindow++;
    transport.emit(p, `[${nowMicros()},${p}${padding}]`);
  };
  const refill = (p: number) => {
    while (load?.sending && sent[p]! * perNameSubs - received[p]! < window * perNameSubs) send(p);
  };
  const delivered = (sentAt: number, p: number) => {
    load?.deliver(sentAt, nowMicros());
    received[p]! += 1;
    if (window > 0) refill(p);
  };
  const failed = () => {
    if (load) load.errors++;
  };
  transport.onSubscriberFrame(
    options.protocol === 'text'
      ? textDeliveries(delivered, failed)
      : protobufDelivery(delivered, failed),
  );
  transport.onPublisherFrame(
    options.protocol === 'text'
      ? textDeliveries(() => {}, failed)
      : protobufDelivery(() => {}, failed),
  );

  const pace = (emitsPerSec: number, current: Load) => {
    const started = performance.now();
    const perMs = emitsPerSec / 1000;
    let next = 0;
    let count = 0;
    // A 1 ms timer sends what is due since the last turn. A tight loop of
    // turns would pace more smoothly but keep a core busy, and on a machine
    // with two cores that core is taken from the server.
    const tick = () => {
      if (!current.sending) return;
      const due = Math.min(MAX_BURST, Math.floor((performance.now() - started) * perMs) - count);
      for (let i = 0; i < due; i++) {
        send(next);
        next = (next + 1) % total;
        count++;
      }
      setTimeout(tick, 1);
    };
    tick();
  };

  return {
    async measure(settings, pacing) {
      sent.fill(0);
      received.fill(0);
      sentInWindow = 0;
      window = pacing.kind === 'closed' ? pacing.window : 0;
      const current = new Load(
        () => {
          if (pacing.kind === 'paced') pace(pacing.emitsPerSec, current);
          else for (let p = 0; p < total; p++) refill(p);
        },
        () => {
          let missing = 0;
          for (let p = 0; p < total; p++) missing += sent[p]! * perNameSubs - received[p]!;
          return missing;
        },
      );
      load = current;
      try {
        const result = await measure(server, current, settings);
        let expected = 0;
        let got = 0;
        for (let p = 0; p < total; p++) {
          expected += sent[p]! * perNameSubs;
          got += received[p]!;
        }
        return {
          ...result,
          sentRate: sentInWindow / (settings.durationMs / 1000),
          expected,
          received: got,
        };
      } finally {
        load = undefined;
      }
    },
    close: async () => {
      await Promise.all(transport.clients.map((client) => client.close()));
    },
  };
}

// ---------------------------------------------------------------- protobuf

async function openProtobufTransport(
  placement: Placement,
  shape: EventShape,
  nameOf: (g: number) => string,
  tag: string,
): Promise<Transport> {
  const { names, publishers: perName, subscribers: perNameSubs } = shape;
  const subscribers = await openMany(placement.subscriber, names * perNameSubs, `${tag}-s`);
  let publishers: BenchClient[] = [];
  try {
    publishers = await openMany(placement.publisher, names * perName, `${tag}-p`);
    await Promise.all(
      subscribers.map((client, i) =>
        client.request(
          {
            topic: TOPIC.EVENT,
            action: EVENT_ACTION.SUBSCRIBE,
            names: [nameOf(Math.floor(i / perNameSubs))],
            correlationId: '0',
          },
          (m) => m.topic === TOPIC.EVENT && m.action === EVENT_ACTION.SUBSCRIBE && m.isAck === true,
          `the subscription of ${client.username}`,
        ),
      ),
    );
  } catch (error) {
    await closeAll([...publishers, ...subscribers]);
    throw error;
  }
  const writer = new FrameWriter();
  const nameBytes = publishers.map((_, p) => Buffer.from(nameOf(Math.floor(p / perName))));
  return {
    clients: [...publishers, ...subscribers],
    emit(p, data) {
      publishers[p]!.send(
        writer.begin(EVENT_ACTION.EMIT).bytes(2, data).bytes(6, nameBytes[p]!).finish(TOPIC.EVENT),
      );
    },
    onSubscriberFrame(handler) {
      for (const client of subscribers) client.onFrame = handler;
    },
    onPublisherFrame(handler) {
      for (const client of publishers) client.onFrame = handler;
    },
  };
}

/** A subscriber's protobuf frame: one EMIT whose data is [sentMicros, publisher, …]. */
function protobufDelivery(
  delivered: (sentAt: number, p: number) => void,
  failed: () => void,
): (frame: Buffer) => void {
  const reader = new FrameReader();
  return (frame) => {
    if (!reader.read(frame) || reader.topic !== TOPIC.EVENT) return;
    if (reader.action !== EVENT_ACTION.EMIT || reader.dataStart < 0) {
      if (reader.isError) failed();
      return;
    }
    const sentAt = readUint(frame, reader.dataStart + 1);
    delivered(sentAt, readUint(frame, uintEnd + 1));
  };
}

// ---------------------------------------------------------------- text (2.x)

async function openTextTransport(
  placement: Placement,
  shape: EventShape,
  nameOf: (g: number) => string,
  tag: string,
): Promise<Transport> {
  const { names, publishers: perName, subscribers: perNameSubs } = shape;
  const subscribers = await openManyText(placement.subscriber, names * perNameSubs, `${tag}-ts`);
  let publishers: TextBenchClient[] = [];
  try {
    publishers = await openManyText(placement.publisher, names * perName, `${tag}-tp`);
    await Promise.all(
      subscribers.map((client, i) => {
        const name = nameOf(Math.floor(i / perNameSubs));
        return client.request(`E${US}S${US}${name}${RS}`, `E${US}A${US}S${US}${name}`);
      }),
    );
  } catch (error) {
    await closeAllText([...publishers, ...subscribers]);
    throw error;
  }
  // E|EVT|name|O<json>: the 2.x client's emit of an array (typed value O).
  const prefixes = publishers.map((_, p) => textEmitPrefix(nameOf(Math.floor(p / perName))));
  return {
    clients: [...publishers, ...subscribers],
    emit(p, data) {
      publishers[p]!.send(`${prefixes[p]}${data}${RS}`);
    },
    onSubscriberFrame(handler) {
      for (const client of subscribers) client.onFrame = handler;
    },
    onPublisherFrame(handler) {
      for (const client of publishers) client.onFrame = handler;
    },
  };
}

const EVT_PREFIX = `E${US}EVT${US}`;
const ERROR_PREFIX = `E${US}E${US}`;
const O_BYTE = 'O'.charCodeAt(0);

/** A subscriber's text frame: each E|EVT|name|O[sentMicros,publisher,…] in it. */
export function textDeliveries(
  delivered: (sentAt: number, p: number) => void,
  failed: () => void,
): (frame: Buffer) => void {
  const each = (frame: Buffer, start: number, end: number) => {
    if (messageStarts(frame, start, end, EVT_PREFIX)) {
      const nameEnd = frame.indexOf(US_BYTE, start + EVT_PREFIX.length);
      // O[ then the send time, a comma, the publisher.
      if (nameEnd === -1 || nameEnd >= end || frame[nameEnd + 1] !== O_BYTE) return;
      const sentAt = readUint(frame, nameEnd + 3, end);
      delivered(sentAt, readUint(frame, uintEnd + 1, end));
    } else if (messageStarts(frame, start, end, ERROR_PREFIX)) {
      failed();
    }
  };
  return (frame) => forEachMessage(frame, each);
}
