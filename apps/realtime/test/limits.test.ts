import { LocalConnectionCounter, LocalRateLimiter } from '@hubstream/cluster';
import { EVENT_ACTION, RECORD_ACTION, TOPIC } from '@hubstream/protocol';
import { describe, expect, it } from 'vitest';
import { rateLimitedReplies } from '../src/core/denials.ts';
import { AppLimiter } from '../src/limits/app-limiter.ts';
import { type AppLimits, resolveLimits } from '../src/limits/app-limits.ts';
import { batchOf, SharedBudget } from '../src/limits/shared-budget.ts';
import { TokenBucket } from '../src/limits/token-bucket.ts';

// The limit logic on its own, on a clock the test moves.

const clock = () => {
  let now = 1_000_000;
  return { now: () => now, advance: (ms: number) => (now += ms) };
};

const DEFAULTS: AppLimits = {
  maxConnections: 100,
  maxMessagesPerSecond: 1000,
  connectionMessagesPerSecond: 10,
  maxCrossReferencesPerSecond: 50,
  maxNamesPerMessage: 100,
  maxSubscriptionsPerConnection: 100,
  maxListensPerConnection: 10,
  maxProvidesPerConnection: 10,
  maxPendingRpcsPerConnection: 10,
};

/** Resolves a take() that may be synchronous. */
const settle = async (result: boolean | Promise<boolean>) => result;

describe('resolveLimits', () => {
  it("takes the app's own values and the defaults for the rest", () => {
    expect(resolveLimits(null, DEFAULTS)).toEqual(DEFAULTS);
    expect(
      resolveLimits(
        {
          maxConnections: 3,
          maxMessagesPerSecond: null,
          connectionMessagesPerSecond: 1,
          maxCrossReferencesPerSecond: null,
        },
        DEFAULTS,
      ),
    ).toEqual({ ...DEFAULTS, maxConnections: 3, connectionMessagesPerSecond: 1 });
  });
});

describe('TokenBucket', () => {
  it('lets a second of messages through at once, then refills at the rate', () => {
    const c = clock();
    const bucket = new TokenBucket(5, c.now);
    const first = Array.from({ length: 8 }, () => bucket.take(5));
    expect(first.filter(Boolean)).toHaveLength(5);
    expect(first.slice(5)).toEqual([false, false, false]);
    c.advance(199);
    expect(bucket.take(5)).toBe(false);
    c.advance(1);
    expect(bucket.take(5)).toBe(true);
    c.advance(60_000);
    // Never more than one second's worth saved up.
    expect(Array.from({ length: 7 }, () => bucket.take(5)).filter(Boolean)).toHaveLength(5);
  });

  it('applies a lowered rate to what was saved', () => {
    const c = clock();
    const bucket = new TokenBucket(100, c.now);
    expect(Array.from({ length: 5 }, () => bucket.take(2)).filter(Boolean)).toHaveLength(2);
  });
});

describe('SharedBudget', () => {
  it('takes batches of a tenth of the limit from the rate limiter and spends them locally', async () => {
    const c = clock();
    const limiter = new LocalRateLimiter({ now: c.now });
    let asked = 0;
    const counting = {
      consume: (...args: Parameters<LocalRateLimiter['consume']>) => {
        asked++;
        return limiter.consume(...args);
      },
      release: (...args: Parameters<LocalRateLimiter['release']>) => limiter.release(...args),
      close: () => limiter.close(),
    };
    const budget = new SharedBudget({
      limiter: counting,
      appId: 'app',
      key: 'messages',
      max: () => 100,
      now: c.now,
    });
    expect(batchOf(100)).toBe(10);
    const first = budget.take();
    expect(first).toBeInstanceOf(Promise);
    expect(await first).toBe(true);
    // The rest of the batch is spent without asking.
    for (let i = 0; i < 9; i++) expect(budget.take()).toBe(true);
    expect(asked).toBe(1);
    let granted = 10;
    for (let i = 0; i < 120; i++) if (await settle(budget.take())) granted++;
    expect(granted).toBe(100);
    const askedWhenFull = asked;
    // The window is spent: refused locally, without asking again.
    expect(budget.take()).toBe(false);
    expect(asked).toBe(askedWhenFull);
    c.advance(1000);
    expect(await settle(budget.take())).toBe(true);
  });

  it('shares one limit between nodes: together they get no more than the limit per window', async () => {
    const c = clock();
    const limiter = new LocalRateLimiter({ now: c.now });
    const node = () =>
      new SharedBudget({ limiter, appId: 'app', key: 'messages', max: () => 20, now: c.now });
    const a = node();
    const b = node();
    let granted = 0;
    for (let i = 0; i < 30; i++) {
      if (await settle(a.take())) granted++;
      if (await settle(b.take())) granted++;
    }
    expect(granted).toBe(20);
  });

  it('takes what is left of the window when a whole batch no longer fits', async () => {
    const c = clock();
    const limiter = new LocalRateLimiter({ now: c.now });
    await limiter.consume('app', 'messages', { max: 100, windowMs: 1000 }, 95);
    const budget = new SharedBudget({
      limiter,
      appId: 'app',
      key: 'messages',
      max: () => 100,
      now: c.now,
    });
    let granted = 0;
    for (let i = 0; i < 20; i++) if (await settle(budget.take())) granted++;
    expect(granted).toBe(5);
  });

  it('keeps serving one local batch per window when the rate limiter fails', async () => {
    const c = clock();
    const errors: unknown[] = [];
    const budget = new SharedBudget({
      limiter: {
        consume: () => Promise.reject(new Error('redis away')),
        release: () => Promise.reject(new Error('redis away')),
        close: async () => {},
      },
      appId: 'app',
      key: 'messages',
      max: () => 50,
      onError: (error) => errors.push(error),
      now: c.now,
    });
    let granted = 0;
    for (let i = 0; i < 10; i++) if (await settle(budget.take())) granted++;
    expect(granted).toBe(batchOf(50));
    expect(errors.length).toBeGreaterThan(0);
  });
});

describe('AppLimiter', () => {
  const make = (limits: Partial<AppLimits> = {}) => {
    const c = clock();
    const usage = { rateLimited: 0 };
    const connections = new LocalConnectionCounter();
    const limiter = new AppLimiter({
      appId: 'app',
      limits: { ...DEFAULTS, ...limits },
      rateLimiter: new LocalRateLimiter({ now: c.now }),
      connections,
      // What the app's usage observer does on the limited hook.
      onLimited: () => usage.rateLimited++,
      onError: () => {},
      now: c.now,
    });
    return { limiter, usage, connections, clock: c };
  };
  const event = { topic: TOPIC.EVENT, action: EVENT_ACTION.EMIT, name: 'e' };
  const ping = { topic: TOPIC.CONNECTION, action: 2 };

  it('admits connections up to the limit and frees a place when one leaves', async () => {
    const { limiter, usage, connections } = make({ maxConnections: 2 });
    const conns = [{ state: 'open' }, { state: 'open' }, { state: 'open' }];
    expect(await limiter.admit(conns[0]!)).toBe(true);
    expect(await limiter.admit(conns[1]!)).toBe(true);
    expect(await limiter.admit(conns[2]!)).toBe(false);
    expect(usage.rateLimited).toBe(1);
    limiter.release(conns[0]!);
    limiter.release(conns[0]!); // idempotent
    limiter.release(conns[2]!); // never admitted: frees nothing
    await new Promise((r) => setImmediate(r));
    expect(await connections.count('app')).toBe(1);
    expect(await limiter.admit(conns[2]!)).toBe(true);
  });

  it('lets a connection in uncounted when the count is unreachable', async () => {
    const errors: unknown[] = [];
    const limiter = new AppLimiter({
      appId: 'app',
      limits: { ...DEFAULTS, maxConnections: 1 },
      rateLimiter: new LocalRateLimiter(),
      connections: {
        ...new LocalConnectionCounter(),
        acquire: () => Promise.reject(new Error('redis away')),
        release: () => Promise.reject(new Error('must not be called')),
      } as unknown as LocalConnectionCounter,
      onLimited: () => {},
      onError: (error) => errors.push(error),
    });
    const connection = { state: 'awaiting-challenge' };
    expect(await limiter.admit(connection)).toBe(true);
    limiter.release(connection);
    await new Promise((r) => setImmediate(r));
    expect(errors.map(String)).toEqual(['Error: redis away']);
  });

  it('does not count a connection that closed while it was being admitted', async () => {
    const { limiter, connections } = make();
    const connection = { state: 'closed' };
    expect(await limiter.admit(connection)).toBe(false);
    expect(await connections.count('app')).toBe(0);
  });

  it("refuses a connection's messages above its own rate, but never its pings", async () => {
    const { limiter, usage } = make({ connectionMessagesPerSecond: 3 });
    const a = { state: 'open' };
    const b = { state: 'open' };
    const verdicts: boolean[] = [];
    for (let i = 0; i < 5; i++) verdicts.push(await settle(limiter.allows(a, event)));
    expect(verdicts).toEqual([true, true, true, false, false]);
    expect(limiter.allows(a, ping)).toBe(true);
    // Another connection has its own rate.
    expect(await settle(limiter.allows(b, event))).toBe(true);
    expect(usage.rateLimited).toBe(2);
  });

  it("refuses messages above the app's rate, whichever connection sends them", async () => {
    const {
      limiter,
      usage,
      clock: c,
    } = make({
      maxMessagesPerSecond: 4,
      connectionMessagesPerSecond: 100,
    });
    const conns = Array.from({ length: 3 }, () => ({ state: 'open' }));
    let granted = 0;
    for (let i = 0; i < 3; i++)
      for (const connection of conns)
        if (await settle(limiter.allows(connection, event))) granted++;
    expect(granted).toBe(4);
    expect(usage.rateLimited).toBe(5);
    c.advance(1000);
    expect(await settle(limiter.allows(conns[0]!, event))).toBe(true);
  });

  it('applies new limits at once', async () => {
    const { limiter } = make({ connectionMessagesPerSecond: 100 });
    const a = { state: 'open' };
    expect(await settle(limiter.allows(a, event))).toBe(true);
    limiter.replace({ ...DEFAULTS, connectionMessagesPerSecond: 1 });
    // What the connection saved at 100 per second shrinks to one second at 1 per second.
    expect(await settle(limiter.allows(a, event))).toBe(true);
    expect(await settle(limiter.allows(a, event))).toBe(false);
  });

  it("counts rules' loads of other records against the cross-reference rate, not the record asked about", async () => {
    const { limiter, usage } = make({ maxCrossReferencesPerSecond: 2 });
    const loads: string[] = [];
    const loaders = {
      loadRecord: (name: string) => {
        loads.push(name);
        return { name };
      },
    };
    const state = { limited: false };
    const guarded = limiter.guardLoaders(loaders, 'own', state);
    for (let i = 0; i < 5; i++) expect(guarded.loadRecord('own')).toEqual({ name: 'own' });
    expect(await guarded.loadRecord('other/1')).toEqual({ name: 'other/1' });
    expect(await guarded.loadRecord('other/2')).toEqual({ name: 'other/2' });
    await expect(async () => guarded.loadRecord('other/3')).rejects.toThrow(
      /2 cross-references per second/,
    );
    // Now the node knows the window is spent: refused synchronously, without asking again.
    expect(() => guarded.loadRecord('other/4')).toThrow(/2 cross-references per second/);
    expect(state.limited).toBe(true);
    // One check, counted once.
    expect(usage.rateLimited).toBe(1);
    expect(loads).not.toContain('other/3');
    expect(loads).not.toContain('other/4');
  });
});

describe('rateLimitedReplies', () => {
  it("answers MESSAGE_DENIED on the message's topic, naming the message", () => {
    expect(
      rateLimitedReplies({
        topic: TOPIC.RECORD,
        action: RECORD_ACTION.CREATEANDUPDATE,
        name: 'r',
        correlationId: '7',
        isWriteAck: true,
      }),
    ).toEqual([
      {
        topic: TOPIC.RECORD,
        action: RECORD_ACTION.MESSAGE_DENIED,
        originalAction: RECORD_ACTION.CREATEANDUPDATE,
        name: 'r',
        isError: true,
        correlationId: '7',
        isWriteAck: true,
      },
    ]);
    expect(rateLimitedReplies({ topic: TOPIC.CONNECTION, action: 2 })).toEqual([]);
  });

  it('names each name of a bulk message: the client undoes exactly those', () => {
    const replies = rateLimitedReplies({
      topic: TOPIC.EVENT,
      action: EVENT_ACTION.SUBSCRIBE,
      names: ['a', 'b'],
      correlationId: '3',
    });
    expect(replies.map((r) => [r.action, r.name, r.correlationId])).toEqual([
      [EVENT_ACTION.MESSAGE_DENIED, 'a', '3'],
      [EVENT_ACTION.MESSAGE_DENIED, 'b', '3'],
    ]);
  });
});
