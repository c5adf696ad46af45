import type { DeepstreamClient } from '@deepstream/client';
import { InlineJobQueue } from '@hubstream/cluster';
import { createLogger } from '@hubstream/service';
import { until } from '@hubstream/testing';
import { MemoryUsageLedger, usageRollupJob } from '@hubstream/testing/apps';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UsageReporter } from '../src/usage-reporter.ts';
import { ALLOW_ALL, type Stack, startStack } from './harness.ts';

// Per-app limits with the official client: connections refused above the
// app's maximum (counted across nodes), messages above a rate answered with
// MESSAGE_DENIED and without effect, rules denied above the cross-reference
// rate, and every refusal counted in the app's usage.

type Limits = Partial<{
  maxConnections: number | null;
  maxMessagesPerSecond: number | null;
  connectionMessagesPerSecond: number | null;
  maxCrossReferencesPerSecond: number | null;
}>;

const WINDOW_MS = 1000;

async function setLimits(stack: Stack, appId: string, limits: Limits) {
  const res = await stack.api('PUT', `/v1/apps/${appId}/limits`, limits);
  if (res.status !== 200) throw new Error(JSON.stringify(res.body));
}

/** A write the node acknowledges once stored; rejects with the refusal's name. */
function write(
  client: DeepstreamClient,
  name: string,
  data: Record<string, unknown>,
): Promise<void> {
  return client.record.setDataWithAck(name, data as never) as Promise<void>;
}

/** Counts the client's errors of one kind (e.g. MESSAGE_DENIED). */
function errorsOf(client: DeepstreamClient, event = 'MESSAGE_DENIED') {
  const seen = { count: 0 };
  client.on('error', (_message: unknown, name: string) => {
    if (name === event) seen.count++;
  });
  return seen;
}

/** Resolves with the state the client settles in when its challenge is answered. */
function challengeOutcome(client: DeepstreamClient): Promise<string> {
  return new Promise((resolve) => {
    client.on('connectionStateChanged', (state: string) => {
      if (state === 'CHALLENGE_DENIED' || state === 'AWAITING_AUTHENTICATION') resolve(state);
    });
  });
}

/**
 * Rates are per second, in windows that start with a window's first
 * message. A scenario whose figures assume one window runs again (on a
 * fresh app) in the rare case a loaded machine made it last longer; the
 * assertions it returns run on the attempt that fit (or the last one).
 */
async function inOneWindow(scenario: () => Promise<() => void | Promise<void>>): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    const started = Date.now();
    const check = await scenario();
    if (Date.now() - started < WINDOW_MS * 0.8 || attempt === 3) return check();
  }
}

/** A client on `node` subscribed to the event `name`, with what it receives. */
async function listenerOn(stack: Stack, appId: string, name: string, node = 0) {
  const client = await stack.client(appId, {}, { node });
  const received: unknown[] = [];
  client.event.subscribe(name, (data) => received.push(data));
  const runtime = (await stack.runtime(appId, node))!;
  await until(
    () => [...runtime.events.subscriptions.names()].includes(name),
    `the subscription to ${name}`,
  );
  return { client, received };
}

describe('per-app limits on one node', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('refuses a connection beyond the limit with CONNECTION REJECT and admits again once one leaves', async () => {
    const appId = await stack.createApp();
    await setLimits(stack, appId, { maxConnections: 2 });
    const first = await stack.client(appId);
    await stack.client(appId);
    const runtime = (await stack.runtime(appId))!;

    const third = stack.rawClient(appId);
    expect(await challengeOutcome(third)).toBe('CHALLENGE_DENIED');
    expect(third.getConnectionState()).toBe('CHALLENGE_DENIED');
    expect(runtime.usage.rateLimited).toBe(1);
    expect(await runtime.node.connectionCounts.count(appId)).toBe(2);

    first.close();
    await until(
      async () => (await runtime.node.connectionCounts.count(appId)) === 1,
      'a free place',
    );
    const fourth = await stack.client(appId);
    expect(fourth.getConnectionState()).toBe('OPEN');

    // The limit is the app's: another app on the same node is not affected.
    const otherApp = await stack.createApp();
    expect((await stack.client(otherApp)).getConnectionState()).toBe('OPEN');
  });

  it('answers messages above the connection rate with MESSAGE_DENIED; they have no effect', async () => {
    const appId = await stack.createApp();
    await setLimits(stack, appId, { connectionMessagesPerSecond: 5 });
    const { client: listener, received } = await listenerOn(stack, appId, 'tick');
    const runtime = (await stack.runtime(appId))!;
    const sender = await stack.client(appId);
    const denied = errorsOf(sender);
    const started = Date.now();
    for (let i = 0; i < 30; i++) sender.event.emit('tick', i);
    await until(() => received.length + denied.count === 30, 'every emit answered or delivered');
    const elapsedS = (Date.now() - started) / 1000;
    // A second's worth at once, plus what refilled meanwhile.
    expect(received.length).toBeGreaterThanOrEqual(5);
    expect(received.length).toBeLessThanOrEqual(5 + Math.ceil(elapsedS * 5));
    expect(denied.count).toBe(30 - received.length);
    // Refused messages had no effect: the ones delivered are the first ones, in order.
    expect(received).toEqual(received.map((_, i) => i));
    expect(runtime.usage.rateLimited).toBe(denied.count);

    // The rate is the connection's: the listener's own emits still go through.
    const echo = await stack.client(appId);
    const echoed: unknown[] = [];
    echo.event.subscribe('other', (data) => echoed.push(data));
    await until(
      () => [...runtime.events.subscriptions.names()].includes('other'),
      'the second subscription',
    );
    listener.event.emit('other', 'still here');
    await until(() => echoed.length === 1, 'the listener’s own event');
  });

  it('answers messages above the app rate with MESSAGE_DENIED, whichever connection sends them', async () => {
    await inOneWindow(async () => {
      const appId = await stack.createApp();
      await setLimits(stack, appId, { maxMessagesPerSecond: 10 });
      // The subscription is the window's first message.
      const { received } = await listenerOn(stack, appId, 'tick');
      const senders = [await stack.client(appId), await stack.client(appId)];
      const denied = senders.map((sender) => errorsOf(sender));
      const answered = () => received.length + denied[0]!.count + denied[1]!.count;
      // 5 from the first (6 with the subscription), 5 from the second (one too many), 2 more from the first.
      const rounds: [number, number][] = [
        [0, 5],
        [1, 5],
        [0, 2],
      ];
      let sent = 0;
      for (const [who, count] of rounds) {
        for (let i = 0; i < count; i++) senders[who]!.event.emit('tick', sent++);
        await until(() => answered() === sent, 'every emit delivered or refused');
      }
      const runtime = (await stack.runtime(appId))!;
      return () => {
        expect(received).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
        expect(denied[1]!.count).toBe(1);
        expect(denied[0]!.count).toBe(2);
        expect(runtime.usage.rateLimited).toBe(3);
      };
    });
  });

  it("denies a rule whose record loads would pass the app's cross-reference rate", async () => {
    const guarded = `_('flag/on') !== null && _('flag/on').ok == true`;
    const rules = ALLOW_ALL.replace(
      'record:\n',
      `record:\n  "guarded/*":\n    read: true\n    create: "${guarded}"\n    write: "${guarded}"\n`,
    );
    const appId = await stack.createApp({ permissions: rules });
    await setLimits(stack, appId, { maxCrossReferencesPerSecond: 3 });
    const client = await stack.client(appId);
    await write(client, 'flag/on', { ok: true });
    const runtime = (await stack.runtime(appId))!;

    let outcomes: string[] = [];
    await inOneWindow(async () => {
      outcomes = await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          write(client, `guarded/${i}`, { i }).then(
            () => 'stored',
            (reason: unknown) => String(reason),
          ),
        ),
      );
      return () => {};
    });
    const stored = outcomes.filter((o) => o === 'stored').length;
    expect(stored).toBeGreaterThanOrEqual(1);
    expect(stored).toBeLessThanOrEqual(3);
    // Refused as a denial (not a rule error), and without effect.
    expect(outcomes.filter((o) => o !== 'stored')).toEqual(
      Array(10 - stored).fill('MESSAGE_DENIED'),
    );
    for (let i = 0; i < 10; i++) {
      const record = await runtime.node.records.get(appId, `guarded/${i}`);
      expect(record !== null, `guarded/${i}`).toBe(outcomes[i] === 'stored');
    }
    expect(runtime.usage.rateLimited).toBe(10 - stored);
    expect(runtime.usage.denied).toBe(10 - stored);

    // A rate, not a ban: a later second has room again.
    await until(
      () =>
        write(client, 'guarded/later', { ok: 1 }).then(
          () => true,
          () => false,
        ),
      'room in a later second',
    );
  });

  it('counts messages sent to clients and refusals in the usage the reporter reads', async () => {
    const appId = await stack.createApp();
    await setLimits(stack, appId, { connectionMessagesPerSecond: 2 });
    const client = await stack.client(appId);
    const runtime = (await stack.runtime(appId))!;
    const outBefore = runtime.usage.messagesOut;
    const results = await Promise.allSettled(
      Array.from({ length: 6 }, (_, i) => write(client, `r/${i}`, { i })),
    );
    expect(results.filter((r) => r.status === 'rejected').length).toBeGreaterThanOrEqual(1);
    // Every write got an answer: an acknowledgement or a MESSAGE_DENIED.
    expect(runtime.usage.messagesOut - outBefore).toBeGreaterThanOrEqual(6);
    expect(runtime.usage.rateLimited).toBe(results.filter((r) => r.status === 'rejected').length);
  });

  it("puts refusals and messages sent into the app's usage sample", async () => {
    const appId = await stack.createApp();
    await setLimits(stack, appId, { connectionMessagesPerSecond: 2 });
    const { received } = await listenerOn(stack, appId, 'tick');
    const sender = await stack.client(appId);
    const denied = errorsOf(sender);
    for (let i = 0; i < 8; i++) sender.event.emit('tick', i);
    await until(() => received.length + denied.count === 8, 'every emit answered');
    const runtime = (await stack.runtime(appId))!;
    const counted = { ...runtime.usage };
    expect(counted.rateLimited).toBe(denied.count);
    // Deliveries, refusals and the login and subscription replies all went out.
    expect(counted.messagesOut).toBeGreaterThanOrEqual(received.length + denied.count);

    // The node's reporter hands the counters to the worker's real roll-up job.
    const logger = createLogger({ level: 'silent', name: 'test' });
    const jobs = new InlineJobQueue(
      [usageRollupJob({ prisma: stack.db.prisma, ledger: new MemoryUsageLedger() })],
      logger,
    );
    const reporter = new UsageReporter({
      nodeId: 'node-0',
      runtimes: async () => [runtime],
      jobs,
      logger,
    });
    await reporter.report();
    await jobs.close();
    const samples = await stack.db.prisma.usageSample.findMany({ where: { appId } });
    expect(samples).toHaveLength(1);
    expect(Number(samples[0]!.rateLimited)).toBe(counted.rateLimited);
    expect(Number(samples[0]!.messagesOut)).toBe(counted.messagesOut);
    expect(Number(samples[0]!.messagesIn)).toBe(counted.messagesIn);
    expect(runtime.usage.rateLimited).toBe(0);
  });

  it('applies changed limits on the node at once', async () => {
    const appId = await stack.createApp();
    const client = await stack.client(appId);
    const runtime = (await stack.runtime(appId))!;
    expect(runtime.limiter.limits.maxConnections).toBe(10_000);
    await setLimits(stack, appId, { maxConnections: 1 });
    await until(() => runtime.limiter.limits.maxConnections === 1, 'the new limit');
    // The open connection stays; a new one is refused.
    expect(client.getConnectionState()).toBe('OPEN');
    expect(await challengeOutcome(stack.rawClient(appId))).toBe('CHALLENGE_DENIED');
    await setLimits(stack, appId, { maxConnections: null });
    await until(() => runtime.limiter.limits.maxConnections === 10_000, 'the default again');
    expect(await challengeOutcome(stack.rawClient(appId))).toBe('AWAITING_AUTHENTICATION');
  });
});

describe('per-app limits across two nodes', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ nodes: 2, redis: true });
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('counts connections across nodes, and drops a dead node’s count', async () => {
    const appId = await stack.createApp({ permissions: ALLOW_ALL });
    await setLimits(stack, appId, { maxConnections: 3 });
    const a = await stack.client(appId, {}, { node: 0 });
    await stack.client(appId, {}, { node: 1 });
    await stack.client(appId, {}, { node: 1 });
    const node0 = (await stack.runtime(appId, 0))!;
    const node1 = (await stack.runtime(appId, 1))!;
    expect(await node0.node.connectionCounts.count(appId)).toBe(3);

    for (const node of [0, 1]) {
      expect(await challengeOutcome(stack.rawClient(appId, { node }))).toBe('CHALLENGE_DENIED');
    }
    expect(node0.usage.rateLimited + node1.usage.rateLimited).toBe(2);

    // A place freed on node 0 can be taken on node 1.
    a.close();
    await until(async () => (await node1.node.connectionCounts.count(appId)) === 2, 'a free place');
    await stack.client(appId, {}, { node: 1 });
    expect(await challengeOutcome(stack.rawClient(appId, { node: 0 }))).toBe('CHALLENGE_DENIED');

    // Node 1 declared dead (as the node lifecycle does): its two connections no longer count...
    const removed = await node0.node.connectionCounts.removeNode(node1.node.bus.nodeId);
    expect(removed).toEqual([{ appId, connections: 3 }]);
    expect(await node0.node.connectionCounts.removeNode(node1.node.bus.nodeId)).toEqual([]);
    expect(await node0.node.connectionCounts.count(appId)).toBe(0);
    // ...until node 1, alive after all, writes its own back.
    await node1.node.connectionCounts.restore();
    expect(await node0.node.connectionCounts.count(appId)).toBe(3);
  });

  it("shares the app's message rate between nodes", async () => {
    await inOneWindow(async () => {
      const appId = await stack.createApp();
      await setLimits(stack, appId, { maxMessagesPerSecond: 8 });
      // The subscription (on node 0) is the window's first message.
      const { received } = await listenerOn(stack, appId, 'tick', 0);
      const onNode0 = await stack.client(appId, {}, { node: 0 });
      const onNode1 = await stack.client(appId, {}, { node: 1 });
      const denied0 = errorsOf(onNode0);
      const denied1 = errorsOf(onNode1);
      // Node 0 spends the app's second...
      for (let i = 0; i < 10; i++) onNode0.event.emit('tick', i);
      await until(() => received.length + denied0.count === 10, 'node 0’s emits answered');
      // ...so node 1 has nothing left of it.
      for (let i = 0; i < 4; i++) onNode1.event.emit('tick', `n1-${i}`);
      await until(() => denied1.count === 4 || received.length > 10, 'node 1’s emits answered');
      const node1 = (await stack.runtime(appId, 1))!;
      return () => {
        expect(received.length).toBe(8 - 1);
        expect(denied1.count).toBe(4);
        expect(node1.usage.rateLimited).toBe(4);
      };
    });
  });

  it('limits one connection on its own node', async () => {
    const appId = await stack.createApp();
    await setLimits(stack, appId, { connectionMessagesPerSecond: 3 });
    const { received } = await listenerOn(stack, appId, 'tick', 1);
    const onNode1 = await stack.client(appId, {}, { node: 1 });
    const denied = errorsOf(onNode1);
    const started = Date.now();
    for (let i = 0; i < 12; i++) onNode1.event.emit('tick', i);
    await until(() => received.length + denied.count === 12, 'every emit answered');
    const elapsedS = (Date.now() - started) / 1000;
    expect(received.length).toBeLessThanOrEqual(3 + Math.ceil(elapsedS * 3));
    expect((await stack.runtime(appId, 1))!.usage.rateLimited).toBe(denied.count);
  });
});
