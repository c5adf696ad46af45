import { MessageChannel, type MessagePort } from 'node:worker_threads';
import {
  type BusEnvelope,
  type BusTopic,
  type JobQueue,
  LocalBus,
  UnknownJobError,
} from '@hubstream/cluster';
import type { RealtimeDataTransport } from '@hubstream/control-plane';
import { ThreadCalls } from '@hubstream/service';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { busContract } from '../../../packages/cluster/test/bus-contract.ts';
import {
  serveBridges,
  serveJobs,
  ThreadBus,
  ThreadJobQueue,
  threadRealtimeData,
} from '../src/thread-bridges.ts';

// The control plane's thread of `pnpm start` uses the main thread's bus and
// realtime data API through calls, and the main thread the job queue of the
// control plane's thread (thread-bridges.ts). Here the two threads are the
// two ends of a MessageChannel (the structured clone algorithm between
// them, as between threads): the main end serves a real LocalBus, the
// other end is what the control plane is given and serves the queue.

const opened: MessagePort[] = [];

afterEach(() => {
  // An open port keeps the test process alive.
  for (const port of opened.splice(0)) port.close();
});

/** A LocalBus whose resubscription the test triggers (a Redis bus' reconnect). */
class ResubscribingBus extends LocalBus {
  readonly listeners = new Set<() => void>();
  override onResubscribed(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

type Options = {
  /** The ThreadBus' own option. */
  onHandlerError?: (error: unknown) => void;
};

/** The main thread's end (a LocalBus, a fake data API) and the control plane's (a fake queue). */
function bridged(nodeId = 'main-node', options: Options = {}) {
  const { port1, port2 } = new MessageChannel();
  opened.push(port1, port2);
  const main = new ThreadCalls(port1);
  const other = new ThreadCalls(port2);

  const bus = new ResubscribingBus({ nodeId });
  const enqueued: { name: string; payload: unknown }[] = [];
  // Stands for the job queue (not what is under test): records, and refuses unknown names.
  const queue: JobQueue = {
    async enqueue(name, payload) {
      if (name === 'no-such-job')
        throw new UnknownJobError(`No job is defined with the name ${name}.`);
      enqueued.push({ name, payload });
    },
    async close() {},
  };
  const dataCalls: { appId: string; request: Parameters<RealtimeDataTransport>[1] }[] = [];
  const realtimeData: RealtimeDataTransport = async (appId, request) => {
    dataCalls.push({ appId, request });
    if (appId === 'app_down') throw new Error('the realtime node is not listening');
    return { status: 201, text: `{"app":"${appId}"}` };
  };
  const bridges = serveBridges(main, { bus, realtimeData });
  serveJobs(other, queue);
  // Messages are handled in their order: once this is answered, every
  // subscription the other end asked for before it is in place.
  main.handle('test.sync', () => true);
  return {
    main,
    bus,
    bridges,
    enqueued,
    dataCalls,
    threadBus: new ThreadBus(
      other,
      { nodeId: bus.nodeId, isClustered: bus.isClustered },
      options.onHandlerError ? { onHandlerError: options.onHandlerError } : {},
    ),
    mainJobs: new ThreadJobQueue(main),
    threadData: threadRealtimeData(other),
    sync: () => other.call<boolean>('test.sync'),
  };
}

/** A subscriber that records and can be waited on for a message that matches. */
function recorder<T extends BusTopic>() {
  const seen: BusEnvelope<T>[] = [];
  const waiting: { match(m: BusEnvelope<T>): boolean; resolve(m: BusEnvelope<T>): void }[] = [];
  return {
    seen,
    handler(message: BusEnvelope<T>) {
      seen.push(message);
      for (const w of waiting.filter((w) => w.match(message))) {
        waiting.splice(waiting.indexOf(w), 1);
        w.resolve(message);
      }
    },
    /** Resolves with the first message (seen already or to come) for which `match` holds. */
    next(match: (m: BusEnvelope<T>) => boolean = () => true): Promise<BusEnvelope<T>> {
      const found = seen.find(match);
      if (found) return Promise.resolve(found);
      return new Promise((resolve) => waiting.push({ match, resolve }));
    },
  };
}

// ThreadBus is a ClusterBus: the contract every bus keeps, through the threads.
busContract('thread (over a LocalBus)', async (nodeId) => bridged(nodeId).threadBus);

describe('ThreadBus over serveBridges', () => {
  it("takes the main bus' node id, and a publish reaches both threads' subscribers", async () => {
    const { bus, threadBus } = bridged('node-main');
    expect(threadBus.nodeId).toBe('node-main');
    expect(threadBus.isClustered).toBe(false);
    const onMain = recorder<'app.changed'>();
    const onThread = recorder<'app.changed'>();
    bus.subscribe('app.changed', onMain.handler);
    threadBus.subscribe('app.changed', onThread.handler);

    await threadBus.publish('app1', 'app.changed', { what: 'limits', version: '7' });
    const expected = {
      appId: 'app1',
      topic: 'app.changed',
      payload: { what: 'limits', version: '7' },
      origin: 'node-main',
    };
    expect(await onMain.next()).toEqual(expected);
    expect(await onThread.next()).toEqual(expected);
    expect(onMain.seen).toHaveLength(1);
    expect(onThread.seen).toHaveLength(1);
  });

  it("delivers the main bus' own publishes and sends to the thread's subscriber", async () => {
    const { bus, threadBus, sync } = bridged('node-main');
    const onThread = recorder<'presence.changed'>();
    threadBus.subscribe('presence.changed', onThread.handler);
    await sync();

    await bus.publish('app2', 'presence.changed', { user: 'ann', online: true });
    await bus.sendTo('node-main', 'app3', 'presence.changed', { user: 'bob', online: false });
    await onThread.next((m) => m.appId === 'app3');
    expect(onThread.seen).toEqual([
      {
        appId: 'app2',
        topic: 'presence.changed',
        payload: { user: 'ann', online: true },
        origin: 'node-main',
      },
      {
        appId: 'app3',
        topic: 'presence.changed',
        payload: { user: 'bob', online: false },
        origin: 'node-main',
        to: 'node-main',
      },
    ]);
  });

  it("stops a topic's messages on that side after its last unsubscribe, and subscribes again", async () => {
    const { main, bus, threadBus } = bridged();
    const notify = vi.spyOn(main, 'notify');
    const forwarded = (topic: BusTopic) =>
      notify.mock.calls.filter(
        ([method, message]) => method === 'bus.message' && (message as BusEnvelope).topic === topic,
      ).length;
    const onMain = recorder<'app.changed'>();
    bus.subscribe('app.changed', onMain.handler);
    const changed = recorder<'app.changed'>();
    const events = recorder<'event.emit'>();
    const unsubscribe = threadBus.subscribe('app.changed', changed.handler);
    threadBus.subscribe('event.emit', events.handler);

    await threadBus.publish('before', 'app.changed', { what: 'auth' });
    await changed.next();
    expect(forwarded('app.changed')).toBe(1);

    unsubscribe();
    await threadBus.publish('after', 'app.changed', { what: 'auth' });
    await threadBus.publish('later', 'event.emit', { name: 'ping' });
    // The main bus had it; the later message on another topic came across after it.
    await onMain.next((m) => m.appId === 'after');
    await events.next((m) => m.appId === 'later');
    expect(changed.seen.map((m) => m.appId)).toEqual(['before']);
    // The main thread no longer forwards the topic at all.
    expect(forwarded('app.changed')).toBe(1);

    const again = recorder<'app.changed'>();
    threadBus.subscribe('app.changed', again.handler);
    await threadBus.publish('again', 'app.changed', { what: 'deleted' });
    expect((await again.next()).appId).toBe('again');
    expect(changed.seen.map((m) => m.appId)).toEqual(['before']);
  });

  it('forwards nothing once the bridges are closed', async () => {
    const { main, bus, bridges, threadBus, sync } = bridged();
    const notify = vi.spyOn(main, 'notify');
    threadBus.subscribe('app.changed', () => {});
    await sync();
    bridges.close();
    const onMain = recorder<'app.changed'>();
    bus.subscribe('app.changed', onMain.handler);
    await bus.publish('closed', 'app.changed', { what: 'auth' });
    // The main bus' subscribers all hear a message in one turn: had the
    // forwarding subscriber still been there, it would have heard it too.
    await onMain.next();
    expect(notify).not.toHaveBeenCalled();
  });

  it("tells the thread's listeners when the main bus resubscribed", async () => {
    const { bus, threadBus, sync } = bridged();
    let heard!: () => void;
    const resubscribed = new Promise<void>((resolve) => {
      heard = resolve;
    });
    const calls: string[] = [];
    threadBus.onResubscribed(() => {
      calls.push('first');
      heard();
    });
    const stop = threadBus.onResubscribed(() => calls.push('stopped'));
    stop();
    await sync();
    expect(bus.listeners.size).toBe(1);
    for (const listener of bus.listeners) listener();
    await resubscribed;
    expect(calls).toEqual(['first']);
  });
});

describe('a ThreadBus subscriber that throws', () => {
  it('is reported to onHandlerError, and the others still hear the message', async () => {
    const errors: unknown[] = [];
    const { bus, threadBus, sync } = bridged('node-e', {
      onHandlerError: (error) => errors.push(error),
    });
    const bug = new Error('subscriber bug');
    threadBus.subscribe('app.changed', () => {
      throw bug;
    });
    const after = recorder<'app.changed'>();
    threadBus.subscribe('app.changed', after.handler);
    threadBus.onResubscribed(() => {
      throw bug;
    });
    let heard!: () => void;
    const resubscribed = new Promise<void>((resolve) => {
      heard = resolve;
    });
    threadBus.onResubscribed(heard);
    await sync();

    await bus.publish('app1', 'app.changed', { what: 'auth' });
    await after.next();
    for (const listener of bus.listeners) listener();
    await resubscribed;
    expect(errors).toEqual([bug, bug]);
  });
});

describe('ThreadJobQueue over serveJobs', () => {
  it("enqueues on the control plane thread's queue, and its refusal crosses back", async () => {
    const { enqueued, mainJobs } = bridged();
    const at = new Date('2026-03-04T05:06:07.000Z');
    await mainJobs.enqueue('send-email', { to: 'ann@example.com', at });
    expect(enqueued).toEqual([{ name: 'send-email', payload: { to: 'ann@example.com', at } }]);
    expect(enqueued[0]?.payload).toMatchObject({ at: expect.any(Date) });

    await expect(mainJobs.enqueue('no-such-job', {})).rejects.toMatchObject({
      name: 'UnknownJobError',
      message: 'No job is defined with the name no-such-job.',
    });
    expect(enqueued).toHaveLength(1);
  });
});

describe('threadRealtimeData over serveBridges', () => {
  it("calls the realtime node's data API with the app and request, and answers with its reply", async () => {
    const { dataCalls, threadData } = bridged();
    const request = { authorization: 'Bearer k', body: '{"get":"chat/1"}' };
    expect(await threadData('app_1', request)).toEqual({ status: 201, text: '{"app":"app_1"}' });
    expect(dataCalls).toEqual([{ appId: 'app_1', request }]);
    await expect(threadData('app_down', request)).rejects.toThrow(
      'the realtime node is not listening',
    );
  });
});
