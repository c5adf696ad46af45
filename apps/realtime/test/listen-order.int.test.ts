import type { DeepstreamClient } from '@deepstream/client';
import { until } from '@hubstream/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Stack, startStack } from './harness.ts';

// LISTEN_SHUFFLE_PROVIDERS (deepstream's listen.shuffleProviders): off, a
// subscription is offered to the matching listeners in the order they
// started listening, across nodes; on (the default, as deepstream's), in
// random order. Through the official client.

type Response = { accept(): void; reject(): void; onStop(cb: (name: string) => void): void };

/** Listens on `pattern` as `label`, rejecting every offer; logs "label name" per offer. */
async function rejecting(
  stack: Stack,
  appId: string,
  node: number,
  label: string,
  log: string[],
  expectedListeners: number,
) {
  const client: DeepstreamClient = await stack.client(appId, { username: label }, { node });
  client.record.listen('order/.*', (name: string, response: Response) => {
    log.push(`${label} ${name}`);
    response.reject();
  });
  // One at a time: each is registered before the next listens.
  const runtime = (await stack.runtime(appId, 0))!;
  await until(
    async () =>
      (await runtime.node.listeners.listeners(appId, 'record')).length === expectedListeners,
    `${expectedListeners} listeners`,
  );
}

/** Subscribes to each name in turn and waits until all `listeners` were offered it. */
async function offers(
  subscriber: DeepstreamClient,
  names: string[],
  log: string[],
  listeners: number,
): Promise<string[][]> {
  const orders: string[][] = [];
  for (const name of names) {
    subscriber.record.getRecord(name);
    await until(() => log.filter((l) => l.endsWith(` ${name}`)).length === listeners, name);
    orders.push(log.filter((l) => l.endsWith(` ${name}`)).map((l) => l.split(' ')[0]!));
  }
  return orders;
}

describe('listen provider order', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({
      nodes: 2,
      redis: true,
      env: { LISTEN_SHUFFLE_PROVIDERS: 'false', LISTEN_RESPONSE_TIMEOUT_MS: '2000' },
    });
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('offers in the order the providers registered, across nodes, when shuffling is off', async () => {
    const appId = await stack.createApp();
    const log: string[] = [];
    await rejecting(stack, appId, 1, 'first', log, 1);
    await rejecting(stack, appId, 0, 'second', log, 2);
    await rejecting(stack, appId, 1, 'third', log, 3);
    await rejecting(stack, appId, 0, 'fourth', log, 4);
    const subscriber = await stack.client(appId, { username: 'sub' }, { node: 0 });
    const names = ['order/a', 'order/b', 'order/c', 'order/d'];
    const registered = ['first', 'second', 'third', 'fourth'];
    expect(await offers(subscriber, names, log, 4)).toEqual(names.map(() => registered));
  });
});

describe('listen provider order by default', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ env: { LISTEN_RESPONSE_TIMEOUT_MS: '2000' } });
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('offers in random order, as deepstream does by default', async () => {
    const appId = await stack.createApp();
    const log: string[] = [];
    await rejecting(stack, appId, 0, 'first', log, 1);
    await rejecting(stack, appId, 0, 'second', log, 2);
    await rejecting(stack, appId, 0, 'third', log, 3);
    const subscriber = await stack.client(appId, { username: 'sub' });
    const names = Array.from({ length: 8 }, (_, i) => `order/${i}`);
    const orders = await offers(subscriber, names, log, 3);
    // Every listener is asked once per name; in registration order every
    // time only by a chance of (1/6)^8.
    for (const order of orders) expect([...order].sort()).toEqual(['first', 'second', 'third']);
    const inOrder = orders.filter((o) => o.join() === 'first,second,third').length;
    expect(inOrder).toBeLessThan(names.length);
  });
});
