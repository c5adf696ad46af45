import { RPC_ACTION, TOPIC } from '../../packages/protocol/src/index.ts';
import { type BenchClient, closeAll, openMany } from './client.ts';
import { type Load, measureLoop, type Rig } from './measure.ts';
import type { ServerProcess } from './servers.ts';
import { FrameReader, FrameWriter, nowMicros, readUint, uintEnd } from './wire.ts';

// RPC round trips: P providers of one name and Q requestors, each keeping
// `window` requests in flight. A provider answers the way the official
// client does (PROTOCOL.md 5): ACCEPT, then RESPONSE with the request's data
// echoed. The data is [sentMicros, requestor]; a round trip ends when the
// requestor has the RESPONSE.

export type RpcOptions = {
  providers: number;
  requestors: number;
  window: number;
  payloadBytes: number;
  tag: string;
};

/** Connects the providers and requestors; the providers provide the RPC. */
export async function openRpcRig(server: ServerProcess, options: RpcOptions): Promise<Rig> {
  const name = `${options.tag}/echo`;
  const nameBytes = Buffer.from(name);
  const providers = await openMany(server.url, options.providers, `${options.tag}-p`);
  let requestors: BenchClient[] = [];
  try {
    requestors = await openMany(server.url, options.requestors, `${options.tag}-r`);
    await Promise.all(
      providers.map((client) =>
        client.request(
          { topic: TOPIC.RPC, action: RPC_ACTION.PROVIDE, names: [name], correlationId: '0' },
          (m) => m.topic === TOPIC.RPC && m.action === RPC_ACTION.PROVIDE && m.isAck === true,
          `the provide of ${client.username}`,
        ),
      ),
    );
  } catch (error) {
    await closeAll([...requestors, ...providers]);
    throw error;
  }

  const total = requestors.length;
  const sent = new Float64Array(total);
  const answered = new Float64Array(total);
  // Correlation ids stay unique across measurements: "requestor.sequence".
  const sequence = new Float64Array(total);
  const writer = new FrameWriter();
  const padding = options.payloadBytes > 0 ? `,"${'x'.repeat(options.payloadBytes)}"` : '';
  const reader = new FrameReader();
  let load: Load | undefined;

  const send = (q: number) => {
    sent[q]! += 1;
    sequence[q]! += 1;
    requestors[q]!.send(
      writer
        .begin(RPC_ACTION.REQUEST)
        .bytes(2, `[${nowMicros()},${q}${padding}]`)
        .bytes(3, `${q}.${sequence[q]}`)
        .bytes(7, nameBytes)
        .finish(TOPIC.RPC),
    );
  };
  const refill = (q: number) => {
    while (load?.sending && sent[q]! - answered[q]! < options.window) send(q);
  };
  const onRequest = (client: BenchClient) => (frame: Buffer) => {
    if (!reader.read(frame) || reader.topic !== TOPIC.RPC) return;
    if (reader.action !== RPC_ACTION.REQUEST) {
      if (reader.isError && load) load.errors++;
      return;
    }
    const cid = frame.subarray(reader.cidStart, reader.cidEnd);
    const data = frame.subarray(reader.dataStart, reader.dataEnd);
    client.send(
      writer.begin(RPC_ACTION.ACCEPT).bytes(3, cid).bytes(7, nameBytes).finish(TOPIC.RPC),
    );
    client.send(
      writer
        .begin(RPC_ACTION.RESPONSE)
        .bytes(2, data)
        .bytes(3, cid)
        .bytes(7, nameBytes)
        .finish(TOPIC.RPC),
    );
  };
  for (const client of providers) client.onFrame = onRequest(client);
  const onAnswer = (frame: Buffer) => {
    if (!reader.read(frame) || reader.topic !== TOPIC.RPC) return;
    if (reader.action === RPC_ACTION.ACCEPT) return;
    let q: number;
    if (reader.action === RPC_ACTION.RESPONSE && reader.dataStart >= 0) {
      const sentAt = readUint(frame, reader.dataStart + 1);
      q = readUint(frame, uintEnd + 1);
      load?.deliver(sentAt, nowMicros());
    } else {
      // NO_RPC_PROVIDER, timeouts, denials: the call is over all the same.
      if (load) load.errors++;
      if (reader.cidStart < 0) return;
      q = readUint(frame, reader.cidStart, reader.cidEnd);
    }
    answered[q]! += 1;
    refill(q);
  };
  for (const client of requestors) client.onFrame = onAnswer;

  return {
    measure: (settings) =>
      measureLoop(server, settings, { sent, answered, refill, use: (l) => (load = l) }),
    close: () => closeAll([...requestors, ...providers]),
  };
}
