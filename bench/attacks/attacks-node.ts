import {
  AUTH_ACTION,
  CONNECTION_ACTION,
  EVENT_ACTION,
  encodeMessage,
  type Message,
  TOPIC,
} from '../../packages/protocol/src/index.ts';
import { HIGH_LIMITS, OPEN_RULES } from './api.ts';
import {
  type Attack,
  type AttackContext,
  type AttackResult,
  count,
  mb,
  sleep,
  until,
} from './attack.ts';
import { closeSummary, pool, RawClient } from './raw.ts';

// Attacks on a realtime node's memory by clients of an app of their own:
// slow readers, frames while a login is pending, huge name lists, sockets
// that never log in (listen patterns: attacks-listen.ts).

/** A raw client of `url` logged in with open auth (set-up: it must work). */
export async function loggedIn(url: string, username: string, options = {}): Promise<RawClient> {
  const { client, reply } = await RawClient.login(url, { username }, options);
  if (reply?.action !== AUTH_ACTION.AUTH_SUCCESSFUL) {
    client.terminate();
    throw new Error(`set-up login of ${username} failed (${client.failure ?? 'refused'})`);
  }
  return client;
}

const isEmit = (name: string) => (m: Message) =>
  m.topic === TOPIC.EVENT && m.action === EVENT_ACTION.EMIT && m.name === name;

/** Subscribes and waits for the ack (set-up). */
export async function subscribe(client: RawClient, names: string[]) {
  const correlationId = `sub-${names[0]}`;
  client.send({ topic: TOPIC.EVENT, action: EVENT_ACTION.SUBSCRIBE, names, correlationId });
  const ack = await client.next((m) => m.topic === TOPIC.EVENT && m.isAck === true, 10_000);
  if (!ack) throw new Error(`no SUBSCRIBE ack for ${names[0]}`);
}

/** Resolves once `client` has received the EMIT of `name` that `publisher` sends now (a fence). */
export async function fence(
  publisher: RawClient,
  client: RawClient,
  name: string,
): Promise<boolean> {
  const tag = `"fence-${Math.random()}"`;
  const arrived = client.next((m) => isEmit(name)(m) && m.data === tag, 10_000);
  publisher.send({ topic: TOPIC.EVENT, action: EVENT_ACTION.EMIT, name, data: tag });
  return (await arrived) !== null;
}

export async function openApp(context: AttackContext, name: string, limits = {}) {
  const appId = await context.developer.createApp(name, {
    rules: OPEN_RULES,
    limits: { ...HIGH_LIMITS, ...limits },
  });
  const { nodeA, nodeB } = context.deployment;
  return { appId, a: `${nodeA}/${appId}`, b: `${nodeB}/${appId}` };
}

/** Resolves once the node has handled everything `client` sent before (its PONG is back); ms taken. */
export async function drained(client: RawClient, timeoutMs = 60_000): Promise<number> {
  const started = performance.now();
  const pong = client.next(
    (m) => m.topic === TOPIC.CONNECTION && m.action === CONNECTION_ACTION.PONG,
    timeoutMs,
  );
  client.send({ topic: TOPIC.CONNECTION, action: CONNECTION_ACTION.PING });
  await pong;
  return performance.now() - started;
}

export const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

export const slowReader: Attack = {
  name: 'slow reader (100 KB events)',
  target: 'node',
  async prepare(context) {
    const app = await openApp(context, 'slow reader');
    const slow = await loggedIn(app.a, 'slow');
    const fast = await loggedIn(app.a, 'fast');
    const emitters = [await loggedIn(app.b, 'emitter-1'), await loggedIn(app.b, 'emitter-2')];
    await subscribe(slow, ['big']);
    await subscribe(fast, ['big']);
    let delivered = 0;
    fast.socket.on('message', () => delivered++);
    const refusals = new Map<string, number>();
    for (const emitter of emitters) {
      emitter.watch((m) => {
        const key = `${m.topic}/${m.action}`;
        refusals.set(key, (refusals.get(key) ?? 0) + 1);
      });
    }
    const frame = encodeMessage({
      topic: TOPIC.EVENT,
      action: EVENT_ACTION.EMIT,
      name: 'big',
      data: JSON.stringify('x'.repeat(100_000)),
    });
    // The node closes a reader whose buffer stays over CONNECTION_MAX_BUFFERED_BYTES
    // (4 MB) for CONNECTION_SLOW_CONSUMER_GRACE_MS (3 s), or goes over twice
    // it: the short run lasts longer than the grace, and goes on (up to
    // maxMs) until enough was sent to fill the loopback's kernel buffers and
    // the bound. A fixed 3 s at the load of a shared machine sent 8 to 118
    // events, and the reader was resumed before its grace ran out: never closed.
    const durationMs = context.short ? 6_000 : 20_000;
    const minBytes = 30 * 1024 * 1024;
    const maxMs = 30_000;
    // One event per emitter every 20 ms: ~10 MB/s, which a reader that reads can follow
    // even on this loaded two-core machine (at ~20 MB/s the bench's own fast subscriber,
    // sharing this process with the emitters, fell behind and was closed as slow too).
    const perTick = 1;
    return {
      async run(): Promise<AttackResult> {
        slow.stopReading();
        const started = performance.now();
        let sent = 0;
        const going = () => {
          const elapsed = performance.now() - started;
          return elapsed < durationMs || (sent * frame.length < minBytes && elapsed < maxMs);
        };
        while (going()) {
          for (const emitter of emitters) {
            // The bench's own buffer stays small: the node, not the bench, is under test.
            if (emitter.socket.bufferedAmount > 8 * frame.length) continue;
            for (let i = 0; i < perTick; i++) emitter.sendBytes(frame);
            sent += perTick;
          }
          await sleep(20);
        }
        const sendingMs = performance.now() - started;
        await Promise.all(emitters.map((e) => e.flushed()));
        // Everything sent reaches the fast subscriber (each fence comes after its emitter's events).
        let fences = 0;
        for (const emitter of emitters) if (await fence(emitter, fast, 'big')) fences++;
        const fastGot = delivered - fences;
        // A reader that reads nothing cannot see its close: read again now. A node that
        // closed it ends the stream (with its close frame, or cut off); one that did not
        // keeps it open however much it buffered.
        let slowGot = 0;
        slow.socket.on('message', () => slowGot++);
        slow.resumeReading();
        await slow.waitClosed(4_000);
        const slowText = slow.closed
          ? `slow reader closed ${slow.closed.code} after ${count(slowGot)} buffered events`
          : `slow reader still open after ${seconds(sendingMs)} of emits (${count(slowGot)} events buffered for it)`;
        return {
          volume: `${count(sent)} events x 100 KB = ${mb(sent * frame.length)}`,
          outcome:
            `${slowText}; fast subscriber got ${count(fastGot)}/${count(sent)}` +
            (fast.closed ? ` (closed ${fast.closed.code})` : '') +
            (refusals.size > 0
              ? `; emitters were answered ${[...refusals].map(([k, n]) => `${k} x${n}`).join(', ')}`
              : ''),
          defended: slow.closed !== null && fastGot >= sent,
        };
      },
      async cleanup() {
        for (const client of [slow, fast, ...emitters]) client.terminate();
      },
    };
  },
};

export const loginPendingFlood: Attack = {
  name: 'frames while login pending (slow webhook)',
  target: 'node',
  async prepare(context) {
    const holdMs = context.short ? 8_000 : 30_000;
    const appId = await context.developer.createApp('slow webhook', {
      rules: OPEN_RULES,
      limits: HIGH_LIMITS,
      auth: {
        open: { enabled: false },
        webhook: {
          enabled: true,
          url: context.webhook.url(`/slow?ms=${holdMs}`),
          timeoutMs: 30_000,
          retryAttempts: 0,
        },
      },
    });
    const url = `${context.deployment.nodeA}/${appId}`;
    const connections = context.short ? 6 : 10;
    const bigFrames = context.short ? 40 : 60;
    const smallFrames = context.short ? 20_000 : 100_000;
    const big = encodeMessage({
      topic: TOPIC.EVENT,
      action: EVENT_ACTION.EMIT,
      name: 'flood',
      data: JSON.stringify('x'.repeat(1_000_000)),
    });
    const small = encodeMessage({ topic: TOPIC.EVENT, action: EVENT_ACTION.EMIT, name: 'f' });
    const clients: RawClient[] = [];
    context.webhook.reset();
    return {
      async run(): Promise<AttackResult> {
        const started = performance.now();
        let bytes = 0;
        let frames = 0;
        let logins = 0;
        await pool(connections, connections, async (i) => {
          const { client, accepted } = await RawClient.challenged(url, {
            headers: { cookie: `session=secret-${i}`, authorization: `Bearer secret-${i}` },
          });
          clients.push(client);
          if (!accepted) return;
          // Three logins at once: at most one may reach the webhook.
          for (let k = 0; k < 3; k++) {
            client.send({
              topic: TOPIC.AUTH,
              action: AUTH_ACTION.REQUEST,
              data: JSON.stringify({ token: `t${i}` }),
            });
            logins++;
          }
          // Half the connections send big frames, half many small ones.
          const useBig = i % 2 === 0;
          const frame = useBig ? big : small;
          const total = useBig ? bigFrames : smallFrames;
          for (let n = 0; n < total && client.isOpen; n++) {
            client.sendBytes(frame);
            bytes += frame.length;
            frames++;
            if (client.socket.bufferedAmount > 4_000_000) await client.flushed();
          }
          await client.flushed();
        });
        // Closed at once if defended; else the node holds all of it until the webhook answers.
        await until(() => clients.every((c) => c.closed !== null || c.failure !== null), 3_000);
        const webhookCalls = context.webhook.stats.requests;
        const leaked = context.webhook.stats.leakedSecrets;
        const open = clients.filter((c) => c.closed === null && c.failure === null).length;
        return {
          volume: `${connections} logins pending, ${count(frames)} frames = ${mb(bytes)}`,
          outcome:
            `${closeSummary(clients)} within ${seconds(performance.now() - started)}; ` +
            `${webhookCalls} webhook calls for ${logins} AUTH requests; ` +
            `${leaked} calls carried Cookie/Authorization`,
          defended: open === 0 && webhookCalls <= connections && leaked === 0,
        };
      },
      async cleanup() {
        for (const client of clients) client.terminate();
      },
    };
  },
};

export const hugeSubscribe: Attack = {
  name: 'huge SUBSCRIBE name lists',
  target: 'node',
  async prepare(context) {
    const app = await openApp(context, 'huge subscribe');
    const attacker = await loggedIn(app.a, 'hoarder');
    const publisher = await loggedIn(app.b, 'publisher');
    await subscribe(attacker, ['ctl']);
    const hugeMessages = context.short ? 3 : 11;
    const namesPerHuge = 50_000;
    const smallMessages = context.short ? 30 : 100;
    const namesPerSmall = 1_000;
    return {
      async run(): Promise<AttackResult> {
        const acked = new Set<string>();
        let denied = 0;
        attacker.watch((m) => {
          if (m.topic !== TOPIC.EVENT) return;
          if (m.isAck && m.correlationId) acked.add(m.correlationId);
          else if (m.action === EVENT_ACTION.MESSAGE_DENIED || m.isError) denied++;
        });
        const messages: { id: string; first: string; last: string; names: number }[] = [];
        const send = (id: string, size: number) => {
          const names = Array.from({ length: size }, (_, i) => `${id}/${i}`);
          attacker.send({
            topic: TOPIC.EVENT,
            action: EVENT_ACTION.SUBSCRIBE,
            names,
            correlationId: id,
          });
          messages.push({ id, first: names[0]!, last: names[size - 1]!, names: size });
        };
        const t0 = performance.now();
        for (let m = 0; m < hugeMessages; m++) {
          send(`huge${m}`, namesPerHuge);
          await attacker.flushed();
        }
        // Everything the node did with these is done once a later PING's PONG is back.
        await drained(attacker);
        const hugeMs = performance.now() - t0;
        const t1 = performance.now();
        for (let m = 0; m < smallMessages; m++) {
          send(`many${m}`, namesPerSmall);
          await attacker.flushed();
        }
        await drained(attacker);
        const smallMs = performance.now() - t1;
        // A refused message must have subscribed nothing: emit on its first and last name.
        const refused = messages.filter((m) => !acked.has(m.id));
        let leaked = 0;
        attacker.watch((m) => {
          if (m.topic === TOPIC.EVENT && m.action === EVENT_ACTION.EMIT && m.name !== 'ctl')
            leaked++;
        });
        for (const m of refused) {
          for (const name of [m.first, m.last]) {
            publisher.send({ topic: TOPIC.EVENT, action: EVENT_ACTION.EMIT, name, data: '1' });
          }
        }
        const fenced = attacker.isOpen ? await fence(publisher, attacker, 'ctl') : true;
        const acceptedNames = messages
          .filter((m) => acked.has(m.id))
          .reduce((sum, m) => sum + m.names, 0);
        const hugeAccepted = messages.filter((m) => m.id.startsWith('huge') && acked.has(m.id));
        const totalNames = hugeMessages * namesPerHuge + smallMessages * namesPerSmall;
        return {
          volume: `${hugeMessages} x ${count(namesPerHuge)} + ${smallMessages} x ${count(namesPerSmall)} names`,
          outcome:
            `${hugeAccepted.length}/${hugeMessages} huge lists acked; ` +
            `${count(acceptedNames)} of ${count(totalNames)} names subscribed; ` +
            `${count(denied)} denials; handled in ${seconds(hugeMs)} (huge) + ${seconds(smallMs)} (many)` +
            (attacker.closed ? `; attacker closed ${attacker.closed.code}` : '') +
            (fenced ? '' : '; fence lost'),
          defended: hugeAccepted.length === 0 && acceptedNames < totalNames,
          stateChanges: leaked,
        };
      },
      async cleanup() {
        attacker.terminate();
        publisher.terminate();
      },
    };
  },
};

export const neverLogIn: Attack = {
  name: 'sockets that never log in (maxConnections 20)',
  target: 'node',
  async prepare(context) {
    const app = await openApp(context, 'slot hog', { maxConnections: 20 });
    const sockets = context.short ? 150 : 1_000;
    const windowMs = context.short ? 3_000 : 15_000;
    const clients: RawClient[] = [];
    let pinger: NodeJS.Timeout | undefined;
    return {
      async run(): Promise<AttackResult> {
        let accepted = 0;
        let challenged = 0;
        const started = performance.now();
        await pool(sockets, 50, async (i) => {
          const url = i % 2 === 0 ? app.a : app.b;
          // A fifth only open the socket; the rest send CHALLENGE and then only PINGs.
          if (i % 5 === 0) {
            clients.push(await RawClient.open(url));
            return;
          }
          const result = await RawClient.challenged(url);
          clients.push(result.client);
          challenged++;
          if (result.accepted) accepted++;
        });
        pinger = setInterval(() => {
          for (const client of clients)
            client.send({ topic: TOPIC.CONNECTION, action: CONNECTION_ACTION.PING });
        }, 500);
        // Real users, from another address, while the attack holds its sockets.
        const legit = await Promise.all(
          [0, 1, 2].map(async (i) => {
            const { client, reply } = await RawClient.login(
              app.a,
              { username: `real-${i}` },
              { localAddress: '127.0.0.2' },
            );
            const ok = reply?.action === AUTH_ACTION.AUTH_SUCCESSFUL;
            client.terminate();
            return ok;
          }),
        );
        const remaining = windowMs - (performance.now() - started);
        if (remaining > 0) await sleep(remaining);
        const open = clients.filter((c) => c.isOpen).length;
        const loggedInOk = legit.filter(Boolean).length;
        return {
          volume: `${count(sockets)} sockets from 127.0.0.1 (${challenged} CHALLENGE + PINGs)`,
          outcome:
            `${accepted} ACCEPTed; after ${seconds(performance.now() - started)} ${open} open, ` +
            `${closeSummary(clients.filter((c) => !c.isOpen))}; ` +
            `real users from 127.0.0.2 logged in: ${loggedInOk}/${legit.length}`,
          defended: loggedInOk === legit.length && open < sockets,
        };
      },
      async cleanup() {
        clearInterval(pinger);
        for (const client of clients) client.terminate();
      },
    };
  },
};
