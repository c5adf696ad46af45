import { randomBytes } from 'node:crypto';
import { loadTestConfig } from '@hubstream/config';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { type BusEnvelope, RedisBus } from '../src/index.ts';
import { busContract } from './bus-contract.ts';

const url = loadTestConfig().TEST_REDIS_URL;
const prefix = () => `test:${randomBytes(4).toString('hex')}:`;

async function node(nodeId: string, keyPrefix: string) {
  const bus = new RedisBus({ nodeId, url, keyPrefix });
  await bus.ready();
  return bus;
}

busContract('redis', async (nodeId) => node(nodeId, prefix()));

describe('redis bus across nodes', () => {
  it('delivers each message once on every node, with its origin, and nothing to other prefixes', async () => {
    const keyPrefix = prefix();
    const a = await node('node-a', keyPrefix);
    const b = await node('node-b', keyPrefix);
    const stranger = await node('node-c', prefix());
    try {
      const atA: BusEnvelope[] = [];
      const atB: BusEnvelope[] = [];
      const atStranger: BusEnvelope[] = [];
      a.subscribe('app.changed', (m) => atA.push(m));
      stranger.subscribe('app.changed', (m) => atStranger.push(m));
      const twoAtB = new Promise<void>((resolve) =>
        b.subscribe('app.changed', (m) => {
          atB.push(m);
          if (atB.length === 2) resolve();
        }),
      );
      await a.publish('app1', 'app.changed', { what: 'auth' });
      await a.publish('app2', 'app.changed', { what: 'deleted' });
      await twoAtB;
      // A round trip through B proves A's echoes have arrived (and were dropped) by now.
      const back = new Promise<void>((resolve) =>
        a.subscribe('app.changed', (m) => m.origin === 'node-b' && resolve()),
      );
      await b.publish('app3', 'app.changed', { what: 'permissions' });
      await back;
      expect(atB.slice(0, 2)).toEqual([
        { appId: 'app1', topic: 'app.changed', payload: { what: 'auth' }, origin: 'node-a' },
        { appId: 'app2', topic: 'app.changed', payload: { what: 'deleted' }, origin: 'node-a' },
      ]);
      expect(atA.map((m) => `${m.appId}:${m.origin}`)).toEqual([
        'app1:node-a',
        'app2:node-a',
        'app3:node-b',
      ]);
      expect(atStranger).toEqual([]);
    } finally {
      await Promise.all([a.close(), b.close(), stranger.close()]);
    }
  });

  it('sends sendTo to the one node named, and to no other', async () => {
    const keyPrefix = prefix();
    const a = await node('node-a', keyPrefix);
    const b = await node('node-b', keyPrefix);
    const c = await node('node-c', keyPrefix);
    try {
      const atC: string[] = [];
      c.subscribe('event.emit', (m) => atC.push(m.payload.name));
      const atB: BusEnvelope[] = [];
      const twoAtB = new Promise<void>((resolve) =>
        b.subscribe('event.emit', (m) => {
          atB.push(m);
          if (atB.length === 2) resolve();
        }),
      );
      await a.sendTo('node-b', 'app', 'event.emit', { name: 'for-b' });
      // Published after the directed one, on the same channel: when C has it, C has seen both.
      const broadcastAtC = new Promise<void>((resolve) =>
        c.subscribe('event.emit', (m) => m.payload.name === 'for-all' && resolve()),
      );
      await a.publishRemote('app', 'event.emit', { name: 'for-all' });
      await twoAtB;
      await broadcastAtC;
      expect(atB[0]).toEqual({
        appId: 'app',
        topic: 'event.emit',
        payload: { name: 'for-b' },
        origin: 'node-a',
        to: 'node-b',
      });
      expect(atC).toEqual(['for-all']);
    } finally {
      await Promise.all([a.close(), b.close(), c.close()]);
    }
  });

  it('sends publishRemote to the other nodes only', async () => {
    const keyPrefix = prefix();
    const a = await node('node-a', keyPrefix);
    const b = await node('node-b', keyPrefix);
    try {
      const atA: string[] = [];
      a.subscribe('event.emit', (m) => atA.push(m.payload.name));
      const atB = new Promise<BusEnvelope>((resolve) => b.subscribe('event.emit', resolve));
      await a.publishRemote('app', 'event.emit', { name: 'news', data: '"hi"' });
      expect(await atB).toEqual({
        appId: 'app',
        topic: 'event.emit',
        payload: { name: 'news', data: '"hi"' },
        origin: 'node-a',
      });
      const back = new Promise<void>((resolve) =>
        a.subscribe('event.emit', (m) => m.origin === 'node-b' && resolve()),
      );
      await b.publishRemote('app', 'event.emit', { name: 'from-b' });
      await back;
      expect(atA).toEqual(['from-b']);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });
});

describe('redis bus delivery lag', () => {
  it("tells observers how long each other node's message took, never for this node's own", async () => {
    const keyPrefix = prefix();
    const a = await node('lag-a', keyPrefix);
    const b = await node('lag-b', keyPrefix);
    try {
      const atA: { lag: number; topic: string }[] = [];
      const atB: { lag: number; topic: string }[] = [];
      a.onDeliveryLag((lag, topic) => atA.push({ lag, topic }));
      const stop = b.onDeliveryLag((lag, topic) => atB.push({ lag, topic }));
      const heard = new Promise<void>((resolve) => b.subscribe('event.emit', () => resolve()));
      const sentAt = Date.now();
      await a.publish('app1', 'event.emit', { name: 'e' });
      await heard;
      const took = Date.now() - sentAt;
      expect(atB).toHaveLength(1);
      expect(atB[0]!.topic).toBe('event.emit');
      expect(atB[0]!.lag).toBeGreaterThanOrEqual(0);
      expect(atB[0]!.lag).toBeLessThanOrEqual(took);
      // A's own echo came back from Redis and was dropped: not timed.
      const back = new Promise<void>((resolve) => a.subscribe('app.changed', () => resolve()));
      stop();
      await b.publish('app1', 'app.changed', { what: 'auth' });
      await back;
      expect(atA.map((m) => m.topic)).toEqual(['app.changed']);
      expect(atB).toHaveLength(1);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });
});

/** Kills the Redis connection with this name (as a network failure would). */
async function killConnection(name: string): Promise<void> {
  const admin = new Redis(url);
  try {
    const list = (await admin.client('LIST')) as string;
    const line = list.split('\n').find((l) => l.includes(` name=${name} `));
    const id = line && /^id=(\d+)/.exec(line)?.[1];
    if (!id) throw new Error(`no Redis connection named ${name}`);
    await admin.client('KILL', 'ID', id);
  } finally {
    await admin.quit();
  }
}

describe('redis bus reconnection', () => {
  it('tells onResubscribed listeners once its subscription is back, and hears the cluster again', async () => {
    const keyPrefix = prefix();
    const a = await node('re-a', keyPrefix);
    const b = await node('re-b', keyPrefix);
    try {
      let resubscribed = 0;
      const back = new Promise<void>((resolve) =>
        a.onResubscribed(() => {
          resubscribed++;
          resolve();
        }),
      );
      const stopped = b.onResubscribed(() => {
        throw new Error('b was never cut off');
      });
      await killConnection(`${keyPrefix}hs:bus-subscriber:re-a`);
      await back;
      expect(resubscribed).toBe(1);
      // The subscription is in place when the listeners are told: a message sent now arrives.
      const heard = new Promise<string>((resolve) =>
        a.subscribe('app.changed', (m) => resolve(m.appId)),
      );
      await b.publish('app-after', 'app.changed', { what: 'auth' });
      expect(await heard).toBe('app-after');
      stopped();
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });
});
