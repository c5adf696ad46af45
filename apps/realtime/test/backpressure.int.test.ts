import { EVENT_ACTION, RECORD_ACTION, TOPIC } from '@hubstream/protocol';
import { busyFor, connectWire, countTurns, until } from '@hubstream/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Stack, startStack } from './harness.ts';

// Outbound backpressure: a subscriber that stops reading is closed with
// SLOW_CONSUMER once its buffer passes the bound, and its socket destroyed
// (memory freed) although it never completes the close handshake; a fast
// subscriber of the same event gets every event meanwhile.

const MAX_BUFFERED = 256 * 1024;
const EVENT_BYTES = 100 * 1024;

async function guardCloses(stack: Stack, reason: string): Promise<number> {
  const response = await stack.node(0).inject({ method: 'GET', url: '/metrics' });
  const line = response.body
    .split('\n')
    .find((l) => l.startsWith(`hubstream_realtime_guard_closes_total{reason="${reason}"}`));
  return line ? Number(line.split(' ').pop()) : 0;
}

describe('outbound backpressure', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({
      env: {
        CONNECTION_MAX_BUFFERED_BYTES: String(MAX_BUFFERED),
        CONNECTION_CLOSE_TIMEOUT_MS: '300',
        CONNECTION_SLOW_CONSUMER_GRACE_MS: '300',
        // 100 KB events at the pace of the fast subscriber's round trips.
        CONNECTION_MAX_MESSAGES_PER_SECOND: '100000',
        APP_MAX_MESSAGES_PER_SECOND: '100000',
      },
    });
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('closes a subscriber that stops reading; a fast one gets every event', async () => {
    const appId = await stack.createApp();
    const server = stack.node(0).websocketServer;
    const fast = await stack.client(appId, { username: 'fast' });
    const received: string[] = [];
    fast.event.subscribe('big', (data) => received.push((data as { n: string }).n));

    const slow = await connectWire(`${stack.nodeUrl(0)}/${appId}`, 'slow');
    slow.send({ topic: TOPIC.EVENT, action: EVENT_ACTION.SUBSCRIBE, names: ['big'] });
    await slow.next((m) => m.topic === TOPIC.EVENT && m.isAck === true);
    const runtime = (await stack.runtime(appId))!;
    await until(
      () => [...runtime.events.subscriptions.entries()].filter(([n]) => n === 'big').length === 2,
      'both subscriptions',
    );
    // From here on the slow client reads nothing: the kernel's buffers fill,
    // then the node's.
    slow.socket.pause();
    const emitter = await stack.client(appId, { username: 'emitter' });
    const before = await guardCloses(stack, 'slow_consumer');
    const sockets = server.clients.size;
    expect(sockets).toBe(3);

    const padding = 'x'.repeat(EVENT_BYTES);
    let sent = 0;
    // Paced by the fast subscriber (it has each event before the next is
    // sent); the slow one's buffers take some megabytes before the node's
    // own buffer passes the bound.
    const closedSlow = () =>
      runtime.node.counters.guardCloses
        .entries()
        .some(([r, n]) => r === 'slow_consumer' && n > before);
    while (!closedSlow() && sent < 600) {
      emitter.event.emit('big', { n: String(sent), padding });
      sent++;
      await until(() => received.length === sent, `event ${sent} at the fast subscriber`);
    }
    expect(await guardCloses(stack, 'slow_consumer')).toBe(before + 1);
    // The slow socket is destroyed within the close timeout although its
    // client never answered the close: the node holds its buffers no longer.
    await until(() => server.clients.size === sockets - 1, 'the slow socket destroyed');

    // The fast subscriber keeps getting everything, in order.
    for (let i = 0; i < 20; i++) {
      emitter.event.emit('big', { n: String(sent), padding });
      sent++;
    }
    await until(() => received.length === sent, 'every event at the fast subscriber');
    expect(received).toEqual(Array.from({ length: sent }, (_, i) => String(i)));
    const ids = [...runtime.connections].map((c) => c.user?.id ?? '');
    expect(ids).toHaveLength(2);
    expect(ids.filter((id) => id.includes('slow'))).toEqual([]);

    // What the slow client still reads ends with the connection closed
    // (4008 if the close frame got through before the socket was destroyed).
    slow.socket.resume();
    const { code } = await slow.closed;
    expect([4008, 1006]).toContain(code);
  });

  it('closes a subscriber whose buffer stays over the bound, below twice it, after the grace', async () => {
    const appId = await stack.createApp();
    const server = stack.node(0).websocketServer;
    const slow = await connectWire(`${stack.nodeUrl(0)}/${appId}`, 'lagging');
    slow.send({ topic: TOPIC.EVENT, action: EVENT_ACTION.SUBSCRIBE, names: ['small'] });
    await slow.next((m) => m.topic === TOPIC.EVENT && m.isAck === true);
    slow.socket.pause();
    const emitter = await stack.client(appId, { username: 'emitter' });
    const runtime = (await stack.runtime(appId))!;
    const slowCloses = () =>
      runtime.node.counters.guardCloses.entries().find(([r]) => r === 'slow_consumer')?.[1] ?? 0;
    const before = slowCloses();
    // The node's socket with the most unsent bytes is the lagging client's.
    const buffered = () => Math.max(...[...server.clients].map((c) => c.bufferedAmount));
    const padding = 'z'.repeat(20 * 1024);
    // Past the kernel's buffers, the node's fills 20 KB at a time: stop
    // just past the bound, far below twice it.
    for (let i = 0; i < 2000 && buffered() <= MAX_BUFFERED; i++) {
      emitter.event.emit('small', { padding });
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    expect(buffered()).toBeGreaterThan(MAX_BUFFERED);
    expect(buffered()).toBeLessThan(2 * MAX_BUFFERED);
    expect(slowCloses()).toBe(before);
    // Nothing more is sent: only the grace can close it.
    await until(() => slowCloses() === before + 1, 'the close after the grace');
    slow.socket.resume();
    expect([4008, 1006]).toContain((await slow.closed).code);
  });

  it('does not close a subscriber that keeps up', async () => {
    const appId = await stack.createApp();
    const reader = await stack.client(appId, { username: 'reader' });
    let count = 0;
    reader.event.subscribe('burst', () => count++);
    const runtime = (await stack.runtime(appId))!;
    await until(
      () => runtime.events.subscriptions.names().next().value === 'burst',
      'the subscription',
    );
    const emitter = await stack.client(appId, { username: 'emitter' });
    const before = await guardCloses(stack, 'slow_consumer');
    // Several times the bound in total, in bursts the reader drains between.
    const padding = 'y'.repeat(EVENT_BYTES);
    for (let burst = 1; burst <= 10; burst++) {
      for (let i = 0; i < 2; i++) emitter.event.emit('burst', { padding });
      await until(() => count === burst * 2, `burst ${burst}`);
    }
    expect(await guardCloses(stack, 'slow_consumer')).toBe(before);
    expect(reader.getConnectionState()).toBe('OPEN');
  });
});

describe('inbound backpressure', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({
      env: { CONNECTION_MAX_MESSAGES_PER_SECOND: '100000', CONNECTION_MAX_BUFFERED_BYTES: '8192' },
    });
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('stops reading a connection whose messages pile up, and reads again once they are handled', async () => {
    const appId = await stack.createApp();
    const wire = await connectWire(`${stack.nodeUrl(0)}/${appId}`, 'reader');
    const runtime = (await stack.runtime(appId))!;
    const connection = [...runtime.connections][0]!;
    let paused = false;
    const watch = setInterval(() => {
      paused ||= connection.readingPaused;
    }, 2);
    // Each read of a record not in memory yet waits for the database: the
    // messages behind it queue up, past the 8 KB bound after some 16.
    const count = 60;
    const long = 'n'.repeat(500);
    for (let i = 0; i < count; i++)
      wire.send({
        topic: TOPIC.RECORD,
        action: RECORD_ACTION.SUBSCRIBECREATEANDREAD,
        names: [`pile/${long}/${i}`],
        correlationId: String(i),
      });
    try {
      // The last answer comes after every other: the messages are handled in order.
      await wire.next(
        (m) =>
          m.topic === TOPIC.RECORD &&
          m.action === RECORD_ACTION.READ_RESPONSE &&
          m.name === `pile/${long}/${count - 1}`,
      );
    } finally {
      clearInterval(watch);
    }
    expect(paused).toBe(true);
    expect(connection.readingPaused).toBe(false);
    expect(
      wire.received.filter(
        (m) => m.topic === TOPIC.RECORD && m.action === RECORD_ACTION.READ_RESPONSE,
      ),
    ).toHaveLength(count);
    await wire.sync();
  });

  it('decodes a frame queued behind a pending message in its turn: its error comes in order', async () => {
    const appId = await stack.createApp();
    const wire = await connectWire(`${stack.nodeUrl(0)}/${appId}`, 'queued');
    const read = (name: string) =>
      wire.send({
        topic: TOPIC.RECORD,
        action: RECORD_ACTION.SUBSCRIBECREATEANDREAD,
        names: [name],
        correlationId: name,
      });
    // The first read waits for the database; the frames after it wait undecoded.
    read('queued/first');
    // A length prefix, then a field tag of wire type 7, which protobuf does not have.
    wire.sendBytes(new Uint8Array([3, 0x0f, 0x0f, 0x0f]));
    read('queued/last');
    await wire.next((m) => m.action === RECORD_ACTION.READ_RESPONSE && m.name === 'queued/last');
    const order = wire.received
      .filter(
        (m) =>
          m.topic === TOPIC.PARSER ||
          (m.topic === TOPIC.RECORD && m.action === RECORD_ACTION.READ_RESPONSE),
      )
      .map((m) => (m.topic === TOPIC.PARSER ? 'parse error' : m.name));
    expect(order).toEqual(['queued/first', 'parse error', 'queued/last']);
  });
});

describe('reading in turns', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ env: { CONNECTION_MAX_MESSAGES_PER_SECOND: '100000' } });
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('stops reading a connection for the rest of the turn once 64 KB came from it, and reads on in the next', async () => {
    const appId = await stack.createApp();
    const server = stack.node(0).websocketServer;
    const known = new Set(server.clients);
    const sender = await connectWire(`${stack.nodeUrl(0)}/${appId}`, 'big-sender');
    const socket = [...server.clients].find((c) => !known.has(c))!;
    const pauses: boolean[] = [];
    const pause = socket.pause.bind(socket);
    socket.pause = () => {
      pauses.push(true);
      pause();
    };
    const subscriber = await connectWire(`${stack.nodeUrl(0)}/${appId}`, 'big-reader');
    subscriber.send({ topic: TOPIC.EVENT, action: EVENT_ACTION.SUBSCRIBE, names: ['big'] });
    await subscriber.next((m) => m.topic === TOPIC.EVENT && m.isAck === true);
    // Five 30 KB events back to back: nothing waits for the database, so the
    // queue never pauses the socket; only the bytes read do.
    const data = (i: number) => JSON.stringify(`${i}:${'z'.repeat(30_000)}`);
    for (let i = 0; i < 5; i++) {
      sender.send({ topic: TOPIC.EVENT, action: EVENT_ACTION.EMIT, name: 'big', data: data(i) });
    }
    await sender.sync();
    await until(
      () =>
        subscriber.received.filter((m) => m.action === EVENT_ACTION.EMIT && m.name === 'big')
          .length === 5,
      'five events',
    );
    expect(pauses.length).toBeGreaterThan(0);
    expect(socket.isPaused).toBe(false);
    // Every event arrived, in order.
    expect(
      subscriber.received
        .filter((m) => m.action === EVENT_ACTION.EMIT && m.name === 'big')
        .map((m) => m.data),
    ).toEqual([0, 1, 2, 3, 4].map(data));
  });

  it("handles a read's many small messages one slice per turn, in order", async () => {
    const appId = await stack.createApp();
    const runtime = (await stack.runtime(appId))!;
    const sender = await connectWire(`${stack.nodeUrl(0)}/${appId}`, 'many-small');
    // Each EMIT takes 100 us to handle (a stand-in for a permission check
    // that misses its cache); the turn it is handled in is written down.
    const turns = countTurns();
    const handledIn: { name: string; turn: number }[] = [];
    const handle = runtime.events.handle.bind(runtime.events);
    runtime.events.handle = (connection, message) => {
      if ('name' in message && message.name?.startsWith('small/')) {
        handledIn.push({ name: message.name, turn: turns.turn });
        busyFor(0.1);
      }
      return handle(connection, message);
    };
    const count = 200;
    const names = Array.from({ length: count }, (_, i) => `small/${i}`);
    // The app's rules are ready (a first message may wait for them, and the
    // messages behind it are queued, which have slices of their own).
    sender.send({ topic: TOPIC.EVENT, action: EVENT_ACTION.EMIT, name: 'warm-up' });
    await sender.sync();
    try {
      // 200 frames of some 20 bytes, written at once: they come in one read.
      for (const name of names)
        sender.send({ topic: TOPIC.EVENT, action: EVENT_ACTION.EMIT, name });
      await until(() => handledIn.length === count, 'every EMIT handled');
    } finally {
      turns.stop();
      runtime.events.handle = handle;
    }
    expect(handledIn.map((h) => h.name)).toEqual(names);
    const perTurn = new Map<number, number>();
    for (const { turn: t } of handledIn) perTurn.set(t, (perTurn.get(t) ?? 0) + 1);
    // A slice (TURN_SLICE_MS) holds a few 100 us messages; without slices the read's
    // 200 messages (20 ms) are handled in one turn.
    expect(Math.max(...perTurn.values())).toBeLessThanOrEqual(20);
    expect(perTurn.size).toBeGreaterThanOrEqual(count / 20);
    await sender.sync();
  });

  it('reads a connection the node closes while it waits for its turn, so the close handshake ends', async () => {
    const appId = await stack.createApp();
    const server = stack.node(0).websocketServer;
    const known = new Set(server.clients);
    const runtime = (await stack.runtime(appId))!;
    const knownConnections = new Set(runtime.connections);
    const sender = await connectWire(`${stack.nodeUrl(0)}/${appId}`, 'closed-in-turn');
    const socket = [...server.clients].find((c) => !known.has(c))!;
    const connection = [...runtime.connections].find((c) => !knownConnections.has(c))!;
    const serverClosed = new Promise((resolve) => socket.once('close', resolve));
    // The node closes the connection (as a drain does) in the very turn its
    // socket is paused for having delivered 64 KB.
    let closedAtPause = false;
    const pause = socket.pause.bind(socket);
    socket.pause = () => {
      pause();
      if (closedAtPause) return;
      closedAtPause = true;
      connection.close(1001, 'node shutting down');
    };
    const data = JSON.stringify('y'.repeat(70_000));
    sender.send({ topic: TOPIC.EVENT, action: EVENT_ACTION.EMIT, name: 'big', data });
    expect(await sender.closed).toEqual({ code: 1001, reason: 'node shutting down' });
    expect(closedAtPause).toBe(true);
    // The client's close frame is read: the server side ends the handshake
    // instead of waiting out its close timeout with the socket paused.
    await until(() => !socket.isPaused, 'the socket read again');
    await serverClosed;
  });
});
