import { PRESENCE_ACTION, TOPIC } from '../../packages/protocol/src/index.ts';
import { type BenchClient, closeAll, openMany } from './client.ts';
import { type Load, measureLoop, type Rig } from './measure.ts';
import type { ServerProcess } from './servers.ts';
import { FrameReader, FrameWriter, nowMicros, readUint, uintEnd } from './wire.ts';

// Presence queries: U users online (one idle connection each) and Q
// queriers, each keeping `window` of `presence.getAll([10 users])` in flight:
// QUERY {correlationId, names} until its QUERY_RESPONSE {correlationId,
// data: {user: online?}}. Half the names asked are online, half are not.
// The correlation id is "querier.sentMicros".
//
// A user's id is what the server's open auth makes of the username:
// Hubstream's is `open:<username>`, deepstream's (and the bare baseline's)
// the username itself; `userId` maps one to the other.

export type PresenceOptions = {
  users: number;
  queriers: number;
  window: number;
  namesPerQuery: number;
  tag: string;
  userId: (username: string) => string;
};

export async function openPresenceRig(
  server: ServerProcess,
  options: PresenceOptions,
): Promise<Rig> {
  const online = await openMany(server.url, options.users, `${options.tag}-u`);
  let queriers: BenchClient[] = [];
  try {
    queriers = await openMany(server.url, options.queriers, `${options.tag}-q`);
  } catch (error) {
    await closeAll(online);
    throw error;
  }
  // Query q asks about the users from q onwards, online and not: names
  // past `users` belong to nobody.
  const asked = (q: number) =>
    Array.from({ length: options.namesPerQuery }, (_, i) => {
      const u = (q + i * 2) % (options.users * 2);
      return Buffer.from(options.userId(`${options.tag}-u${u}`));
    });
  const askedBy = queriers.map((_, q) => asked(q));

  const total = queriers.length;
  const sent = new Float64Array(total);
  const answered = new Float64Array(total);
  const writer = new FrameWriter();
  const reader = new FrameReader();
  let load: Load | undefined;

  const send = (q: number) => {
    sent[q]! += 1;
    writer.begin(PRESENCE_ACTION.QUERY).bytes(5, `${q}.${nowMicros()}`);
    for (const name of askedBy[q]!) writer.bytes(9, name);
    queriers[q]!.send(writer.finish(TOPIC.PRESENCE));
  };
  const refill = (q: number) => {
    while (load?.sending && sent[q]! - answered[q]! < options.window) send(q);
  };
  const onAnswer = (frame: Buffer) => {
    if (!reader.read(frame) || reader.topic !== TOPIC.PRESENCE || reader.cidStart < 0) return;
    const q = readUint(frame, reader.cidStart, reader.cidEnd);
    if (reader.action === PRESENCE_ACTION.QUERY_RESPONSE && !reader.isError) {
      load?.deliver(readUint(frame, uintEnd + 1, reader.cidEnd), nowMicros());
    } else if (load) load.errors++;
    answered[q]! += 1;
    refill(q);
  };
  for (const client of queriers) client.onFrame = onAnswer;

  return {
    measure: (settings) =>
      measureLoop(server, settings, { sent, answered, refill, use: (l) => (load = l) }),
    close: () => closeAll([...queriers, ...online]),
  };
}
