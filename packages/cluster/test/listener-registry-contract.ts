import { describe, expect, it } from 'vitest';
import { batchOfferToken, type ListenerRegistry } from '../src/index.ts';

/** Two nodes ('node-a', 'node-b') of one cluster; a fresh cluster per call. */
export type MakeListenerNodes = () => Promise<{ a: ListenerRegistry; b: ListenerRegistry }>;

export function listenerRegistryContract(name: string, make: MakeListenerNodes) {
  describe(`${name} listener registry contract`, () => {
    it('sees the first subscriber and the last one leave across nodes, per app and topic', async () => {
      const { a, b } = await make();
      // No listener yet: nothing to offer.
      expect(await a.subscribe('app1', 'event', 'news', 'o1')).toEqual({
        first: true,
        provided: false,
        offer: false,
      });
      expect(await a.subscribe('app1', 'event', 'news', 'o2')).toMatchObject({ first: false });
      expect(await b.subscribe('app1', 'event', 'news', 'o3')).toMatchObject({ first: false });
      // Another topic and another app are other names.
      expect(await b.subscribe('app1', 'record', 'news', 'o4')).toMatchObject({ first: true });
      expect(await b.subscribe('app2', 'event', 'news', 'o5')).toMatchObject({ first: true });
      expect(await a.unprovided('app1', 'event')).toEqual(['news']);
      expect(await a.unsubscribe('app1', 'event', 'news')).toEqual({
        last: false,
        provider: null,
        offer: null,
      });
      // Leaving twice changes nothing.
      expect(await a.unsubscribe('app1', 'event', 'news')).toMatchObject({ last: false });
      expect(await b.unsubscribe('app1', 'event', 'news')).toMatchObject({ last: true });
      expect(await a.unprovided('app1', 'event')).toEqual([]);
      expect(await a.unprovided('app2', 'event')).toEqual(['news']);
    });

    it('lists listeners in the order they registered, across nodes, however many', async () => {
      const { a, b } = await make();
      // 150: more than Redis keeps in a small (insertion-ordered) set.
      const expected = [];
      for (let i = 0; i < 150; i++) {
        const node = i % 2 === 0 ? a : b;
        await node.addListener('app', 'event', `conn-${i}`, `p${i}/.*`);
        expected.push({
          node: i % 2 === 0 ? 'node-a' : 'node-b',
          connection: `conn-${i}`,
          pattern: `p${i}/.*`,
        });
      }
      // Registering again keeps the place; leaving and coming back goes last.
      await b.addListener('app', 'event', 'conn-1', 'p1/.*');
      await a.removeListener('app', 'event', 'conn-0', 'p0/.*');
      await a.addListener('app', 'event', 'conn-0', 'p0/.*');
      expect(await b.listeners('app', 'event')).toEqual([...expected.slice(1), expected[0]]);
    });

    it('records one offer per name, one provider per name, and hands both back on the last leave', async () => {
      const { a, b } = await make();
      await b.addListener('app', 'record', 'conn-b', 'prices/.*');
      await b.addListener('app', 'record', 'conn-b', 'prices/.*'); // twice is once
      expect(await a.listeners('app', 'record')).toEqual([
        { node: 'node-b', connection: 'conn-b', pattern: 'prices/.*' },
      ]);
      expect(await a.listeners('app', 'event')).toEqual([]);
      expect(await a.subscribe('app', 'record', 'prices/eur', 'offer-1')).toEqual({
        first: true,
        provided: false,
        offer: true,
      });
      // The offer is running: nobody else may start one.
      expect(await b.startOffer('app', 'record', 'prices/eur', 'offer-2')).toBe(false);
      expect(await b.unprovided('app', 'record')).toEqual([]);
      expect(await b.claim('app', 'record', 'prices/eur', 'provider-1', 'offer-1')).toBe(true);
      expect(await a.claim('app', 'record', 'prices/eur', 'provider-2', 'offer-1')).toBe(false);
      expect(await a.providers('app', 'record', ['prices/eur', 'prices/usd'])).toEqual([
        'provider-1',
        null,
      ]);
      const joined = await b.subscribe('app', 'record', 'prices/eur', 'offer-3');
      expect(joined).toEqual({ first: false, provided: true, offer: false });
      await b.unsubscribe('app', 'record', 'prices/eur');
      expect(await a.unsubscribe('app', 'record', 'prices/eur')).toEqual({
        last: true,
        provider: 'provider-1',
        offer: null,
      });
      expect(await a.providers('app', 'record', ['prices/eur'])).toEqual([null]);
      // Nobody subscribes: no claim.
      expect(await b.claim('app', 'record', 'prices/eur', 'provider-3', 'offer-1')).toBe(false);

      // The last subscriber leaves during an offer: the offer is handed back.
      expect(await a.subscribe('app', 'record', 'prices/gbp', 'offer-4')).toMatchObject({
        offer: true,
      });
      expect(await a.unsubscribe('app', 'record', 'prices/gbp')).toEqual({
        last: true,
        provider: null,
        offer: 'offer-4',
      });
    });

    it('re-offers when a provider stops while subscribers remain, and lets a new listener find them', async () => {
      const { a, b } = await make();
      expect(await a.subscribe('app', 'event', 'weather/sun', 'offer-1')).toMatchObject({
        offer: false,
      });
      // A late listener: the name waits for an offer, which one node takes.
      await b.addListener('app', 'event', 'conn-b', 'weather/.*');
      expect(await b.unprovided('app', 'event')).toEqual(['weather/sun']);
      expect(await b.startOffer('app', 'event', 'weather/sun', 'offer-2')).toBe(true);
      expect(await a.startOffer('app', 'event', 'weather/sun', 'offer-3')).toBe(false);
      // An old offer's end does not end the running one.
      await b.endOffer('app', 'event', 'weather/sun', 'offer-1');
      expect(await a.startOffer('app', 'event', 'weather/sun', 'offer-3')).toBe(false);
      await b.endOffer('app', 'event', 'weather/sun', 'offer-2');
      expect(await b.unprovided('app', 'event')).toEqual(['weather/sun']);
      expect(await b.startOffer('app', 'event', 'weather/sun', 'offer-4')).toBe(true);
      expect(await b.claim('app', 'event', 'weather/sun', 'provider-1', 'offer-4')).toBe(true);
      // The offer ended with the claim.
      expect(await a.startOffer('app', 'event', 'weather/sun', 'offer-5')).toBe(false);
      // Someone else's token releases nothing.
      expect(await b.release('app', 'event', 'weather/sun', 'provider-x', 'offer-6')).toEqual({
        released: false,
        reoffer: false,
      });
      expect(await b.release('app', 'event', 'weather/sun', 'provider-1', 'offer-6')).toEqual({
        released: true,
        reoffer: true,
      });
      expect(await a.startOffer('app', 'event', 'weather/sun', 'offer-7')).toBe(false);
      // Without listeners left, a stopping provider leaves nothing to offer.
      expect(await b.claim('app', 'event', 'weather/sun', 'provider-2', 'offer-6')).toBe(true);
      await b.removeListener('app', 'event', 'conn-b', 'weather/.*');
      expect(await a.listeners('app', 'event')).toEqual([]);
      expect(await b.release('app', 'event', 'weather/sun', 'provider-2', 'offer-8')).toEqual({
        released: true,
        reoffer: false,
      });
    });

    it('subscribes many names in one call, as subscribe() would each, with an offer token per index', async () => {
      const { a, b } = await make();
      await b.addListener('app', 'event', 'conn-b', 'm/.*');
      await b.subscribe('app', 'event', 'm/0', '');
      await b.subscribe('app', 'event', 'm/1', '');
      expect(await b.claim('app', 'event', 'm/1', 'provider-1', '')).toBe(true);
      // More names than one Redis script call takes (256); the last is the first again.
      const names = [...Array.from({ length: 300 }, (_, i) => `m/${i}`), 'm/2'];
      const results = await a.subscribeMany('app', 'event', names, 'base');
      expect(results).toHaveLength(names.length * 3);
      const at = (i: number) => results.slice(i * 3, i * 3 + 3);
      expect(at(0)).toEqual([0, 0, 0]); // b subscribes, nobody provides
      expect(at(1)).toEqual([0, 1, 0]); // b's listener provides it
      for (const i of [2, 255, 256, 299]) expect(at(i)).toEqual([1, 0, 1]);
      expect(at(300)).toEqual([0, 0, 0]); // this node holds it already
      // Each offer is under its index's token: ending another changes nothing.
      await a.endOffer('app', 'event', 'm/299', batchOfferToken('base', 298));
      expect(await b.startOffer('app', 'event', 'm/299', 'o-x')).toBe(false);
      await a.endOffer('app', 'event', 'm/299', batchOfferToken('base', 299));
      expect(await b.startOffer('app', 'event', 'm/299', 'o-x')).toBe(true);
      expect(await b.claim('app', 'event', 'm/256', 'p-256', batchOfferToken('base', 256))).toBe(
        true,
      );
      // No base: no offers.
      expect(await a.subscribeMany('app', 'record', ['m/1', 'm/1'], '')).toEqual([
        1, 0, 0, 0, 0, 0,
      ]);
      // Subscribed as one by one: the last leave reports the offer, and a dead node's share is found.
      expect(await a.unsubscribe('app', 'event', 'm/2')).toEqual({
        last: true,
        provider: null,
        offer: batchOfferToken('base', 2),
      });
      const gone = await a.removeNode('node-a');
      expect(gone).toHaveLength(298);
      expect(gone).toContainEqual({
        appId: 'app',
        topic: 'event',
        name: 'm/256',
        provider: 'p-256',
        offer: null,
      });
      expect(gone).toContainEqual({
        appId: 'app',
        topic: 'record',
        name: 'm/1',
        provider: null,
        offer: null,
      });
    });

    it('unsubscribes many names in one call, as unsubscribe() would each, across script calls', async () => {
      const { a, b } = await make();
      await b.addListener('app', 'event', 'conn-b', 'u/.*');
      // More names than one Redis script call takes (256).
      const names = Array.from({ length: 300 }, (_, i) => `u/${i}`);
      await a.subscribeMany('app', 'event', names, 'base');
      await b.subscribe('app', 'event', 'u/1', '');
      expect(await b.claim('app', 'event', 'u/2', 'p-2', batchOfferToken('base', 2))).toBe(true);
      const results = await a.unsubscribeMany('app', 'event', [...names, 'u/never']);
      expect(results).toHaveLength((names.length + 1) * 3);
      const at = (i: number) => results.slice(i * 3, i * 3 + 3);
      expect(at(0)).toEqual([1, '', batchOfferToken('base', 0)]); // last, its offer handed back
      expect(at(1)).toEqual([0, '', '']); // b still subscribes
      expect(at(2)).toEqual([1, 'p-2', '']); // last, its provider handed back
      for (const i of [3, 255, 256, 299])
        expect(at(i)).toEqual([1, '', batchOfferToken('base', i)]);
      expect(at(300)).toEqual([0, '', '']); // never subscribed here
      // Gone from the registry: again is nothing, and the next subscriber is the first.
      expect(await a.unsubscribeMany('app', 'event', ['u/0', 'u/299'])).toEqual([
        0,
        '',
        '',
        0,
        '',
        '',
      ]);
      expect(await b.subscribe('app', 'event', 'u/0', 'o-b')).toEqual({
        first: true,
        provided: false,
        offer: true,
      });
      // Only u/1, which b still holds, would be left after b's node went.
      const gone = await b.removeNode('node-b');
      expect(gone.map((g) => g.name).sort()).toEqual(['u/0', 'u/1']);
      expect(await a.removeNode('node-a')).toEqual([]);
    });

    it('removes everything a dead node held, and reports the names it was the last subscriber of', async () => {
      const { a, b } = await make();
      await b.addListener('app', 'event', 'conn-b', 'x/.*');
      await a.addListener('app', 'event', 'conn-a', 'x/.*');
      await b.subscribe('app', 'event', 'x/only-b', 'offer-1');
      await a.subscribe('app', 'event', 'x/shared', 'offer-2');
      await b.subscribe('app', 'event', 'x/shared', 'offer-3');
      // b provides x/shared; x/only-b is being offered by b.
      expect(await b.claim('app', 'event', 'x/shared', 'provider-b', 'offer-2')).toBe(true);
      expect(await b.removeNode('node-b')).toEqual([
        { appId: 'app', topic: 'event', name: 'x/only-b', provider: null, offer: null },
      ]);
      expect(await a.listeners('app', 'event')).toEqual([
        { node: 'node-a', connection: 'conn-a', pattern: 'x/.*' },
      ]);
      // x/shared still has a's subscriber and lost its provider: it waits for an offer.
      expect(await a.providers('app', 'event', ['x/shared'])).toEqual([null]);
      expect(await a.unprovided('app', 'event')).toEqual(['x/shared']);
      expect(await a.removeNode('node-b')).toEqual([]);
      expect(await a.unsubscribe('app', 'event', 'x/shared')).toEqual({
        last: true,
        provider: null,
        offer: null,
      });
    });
  });
}
