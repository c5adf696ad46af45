import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nextValue, type Stack, startStack, until } from './harness.ts';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.close();
});

describe('events with the official client', () => {
  it('delivers an emit to every other subscriber, never back to the sender', async () => {
    const appId = await stack.createApp();
    const a = await stack.client(appId, { username: 'a' });
    const b = await stack.client(appId, { username: 'b' });
    const c = await stack.client(appId, { username: 'c' });
    const seenByA: unknown[] = [];
    a.event.subscribe('news', (data: unknown) => seenByA.push(data));
    const atB = nextValue<unknown>((cb) => b.event.subscribe('news', cb));
    const atC = nextValue<unknown>((cb) => c.event.subscribe('news', cb));
    const runtime = (await stack.runtime(appId))!;
    await until(
      () => runtime.events.subscriptions.subscribers('news')?.size === 3,
      'subscriptions',
    );
    a.event.emit('news', { headline: 'hi' });
    expect(await atB).toEqual({ headline: 'hi' });
    expect(await atC).toEqual({ headline: 'hi' });
    // A's own listener fired locally, once; the server did not echo.
    expect(seenByA).toEqual([{ headline: 'hi' }]);
  });
});
