import { describe, expect, it } from 'vitest';
import type { BusEnvelope, ClusterBus } from '../src/index.ts';

// The contract every ClusterBus implementation must keep. The Redis bus runs
// this same suite against a real Redis.

export function busContract(name: string, make: (nodeId: string) => Promise<ClusterBus>) {
  describe(`${name} bus contract`, () => {
    it('delivers to every subscriber of the topic, with app id and origin, in order', async () => {
      const bus = await make('node-a');
      try {
        const seen: BusEnvelope<'app.changed'>[] = [];
        const seenToo: string[] = [];
        const done = new Promise<void>((resolve) => {
          bus.subscribe('app.changed', (m) => {
            seen.push(m);
            if (seen.length === 2) resolve();
          });
        });
        bus.subscribe('app.changed', (m) => seenToo.push(m.appId));
        await bus.publish('app1', 'app.changed', { what: 'auth' });
        await bus.publish('app2', 'app.changed', { what: 'permissions' });
        await done;
        expect(seen).toEqual([
          { appId: 'app1', topic: 'app.changed', payload: { what: 'auth' }, origin: 'node-a' },
          {
            appId: 'app2',
            topic: 'app.changed',
            payload: { what: 'permissions' },
            origin: 'node-a',
          },
        ]);
        expect(seenToo).toEqual(['app1', 'app2']);
      } finally {
        await bus.close();
      }
    });

    it('stops delivering after unsubscribe, and a throwing subscriber harms no other', async () => {
      const bus = await make('node-b');
      try {
        const kept: string[] = [];
        const unsubscribe = bus.subscribe('app.changed', () => {
          throw new Error('subscriber bug');
        });
        const gone: string[] = [];
        const stop = bus.subscribe('app.changed', (m) => gone.push(m.appId));
        const received = new Promise<void>((resolve) =>
          bus.subscribe('app.changed', (m) => {
            kept.push(m.appId);
            if (m.appId === 'last') resolve();
          }),
        );
        await bus.publish('first', 'app.changed', { what: 'auth' });
        stop();
        unsubscribe();
        await bus.publish('last', 'app.changed', { what: 'deleted' });
        await received;
        expect(kept).toEqual(['first', 'last']);
        expect(gone).toEqual(['first']);
      } finally {
        await bus.close();
      }
    });

    it('does not deliver publishRemote on the publishing node', async () => {
      const bus = await make('node-r');
      try {
        const seen: string[] = [];
        const done = new Promise<void>((resolve) =>
          bus.subscribe('app.changed', (m) => {
            seen.push(m.appId);
            if (m.appId === 'local') resolve();
          }),
        );
        await bus.publishRemote('remote-only', 'app.changed', { what: 'auth' });
        await bus.publish('local', 'app.changed', { what: 'auth' });
        await done;
        expect(seen).toEqual(['local']);
      } finally {
        await bus.close();
      }
    });

    it('sendTo delivers to its own node, and a message for another node is not delivered here', async () => {
      const bus = await make('node-s');
      try {
        const seen: BusEnvelope<'app.changed'>[] = [];
        const done = new Promise<void>((resolve) =>
          bus.subscribe('app.changed', (m) => {
            seen.push(m);
            if (m.appId === 'mine') resolve();
          }),
        );
        await bus.sendTo('node-elsewhere', 'theirs', 'app.changed', { what: 'auth' });
        await bus.sendTo('node-s', 'mine', 'app.changed', { what: 'auth' });
        await done;
        expect(seen).toEqual([
          {
            appId: 'mine',
            topic: 'app.changed',
            payload: { what: 'auth' },
            origin: 'node-s',
            to: 'node-s',
          },
        ]);
      } finally {
        await bus.close();
      }
    });
  });
}
