import { readFileSync } from 'node:fs';
import { until } from '@hubstream/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALLOW_ALL, nextError, type Stack, startStack } from './harness.ts';
import {
  becomes,
  ready,
  recordError,
  stored,
  storeOf,
  subscriberCount,
  subscribers,
} from './records-helpers.ts';

// Every record rule of the seed permissions, allowed and denied, through the
// official client; then rules replaced while clients hold subscriptions.

const SEED = readFileSync(
  new URL('../../../../shared/fixtures/seed-permissions.yml', import.meta.url),
  'utf8',
);

let stack: Stack;
let appId: string;
beforeAll(async () => {
  stack = await startStack();
  // Open logins for most users; email logins for the admin of system-settings.
  appId = await stack.createApp({
    namedUsers: true,
    permissions: SEED,
    auth: { email: { enabled: true } },
  });
});
afterAll(async () => {
  await stack?.close();
});

const PURCHASE = 'only-allows-purchase-of-products-in-stock';

describe('the seed record rules', () => {
  it('public-read-private-write/$userid: only that user creates and writes, anyone reads', async () => {
    const alice = await stack.client(appId, { username: 'alice' });
    const bob = await stack.client(appId, { username: 'bob' });
    const own = await ready(alice, 'public-read-private-write/alice');
    await own.setWithAck({ bio: 'hi' });

    // Bob reads Alice's record but may not write it.
    const theirs = await ready(bob, 'public-read-private-write/alice');
    expect(theirs.get()).toEqual({ bio: 'hi' });
    await expect(theirs.setWithAck({ bio: 'hacked' })).rejects.toBe('MESSAGE_DENIED');
    // (setData goes through a record the client holds; this one holds none.)
    const bobToo = await stack.client(appId, { username: 'bob' });
    await expect(
      bobToo.record.setDataWithAck('public-read-private-write/alice', { bio: 'hacked' }),
    ).rejects.toBe('MESSAGE_DENIED');
    expect(await stored(stack, appId, 'public-read-private-write/alice')).toEqual({
      version: 1,
      data: { bio: 'hi' },
    });

    // Nor create one for somebody else: subscribing to a missing record needs create.
    const denied = recordError(bob.record.getRecord('public-read-private-write/carol'));
    expect(await denied).toBe('MESSAGE_DENIED');
    // (Bob's own client holds that record, never ready; ask from another.)
    expect(await alice.record.has('public-read-private-write/carol')).toBe(false);
    // His own is fine, also through setData.
    await bob.record.setDataWithAck('public-read-private-write/bob', { bio: 'bob' });
    expect(await alice.record.snapshot('public-read-private-write/bob')).toEqual({ bio: 'bob' });
  });

  it('only-increment: a write must raise value (setData on a new record may set it)', async () => {
    const first = await stack.client(appId, { username: 'first' });
    // setData on a missing record: the write rule sees the created record, {}.
    await first.record.setDataWithAck('only-increment', { value: 1 });
    const counter = await ready(first, 'only-increment');
    expect(counter.version).toBe(1);
    await counter.setWithAck({ value: 5 });
    // A patch is judged on the whole record it produces.
    await expect(counter.setWithAck('value', 3)).rejects.toBe('MESSAGE_DENIED');
    const second = await stack.client(appId, { username: 'second' });
    await expect(second.record.setDataWithAck('only-increment', { value: 4 })).rejects.toBe(
      'MESSAGE_DENIED',
    );
    // (The typings want an object at a path; the client sends any JSON value.)
    await second.record.setDataWithAck('only-increment', 'value', 6 as never);
    expect(await stored(stack, appId, 'only-increment')).toEqual({
      version: 3,
      data: { value: 6 },
    });
  });

  it('only-delete-egon-miller/$firstname/$lastname: only egon miller, in any case', async () => {
    const client = await stack.client(appId, { username: 'deleter' });
    const egon = await ready(client, 'only-delete-egon-miller/Egon/MILLER');
    await egon.setWithAck({ x: 1 });
    await egon.delete();
    expect(await stored(stack, appId, 'only-delete-egon-miller/Egon/MILLER')).toBeNull();

    const john = await ready(client, 'only-delete-egon-miller/john/doe');
    await john.setWithAck({ x: 1 });
    await expect(john.delete()).rejects.toBe('MESSAGE_DENIED');
    const other = await stack.client(appId, { username: 'other' });
    expect(await other.record.snapshot('only-delete-egon-miller/john/doe')).toEqual({ x: 1 });
  });

  it(`${PURCHASE}/$purchaseId: only for items whose stock, read by _(), is positive`, async () => {
    const shop = await stack.client(appId, { username: 'shop' });
    await shop.record.setDataWithAck('item/apple', { stock: 3 });
    await shop.record.setDataWithAck('item/pear', { stock: 0 });
    // This item is only in Postgres: the rule's _() has to load it from there.
    await stack.db.prisma.record.create({
      data: { appId, name: 'item/banana', version: 1, data: { stock: 1 } },
    });
    expect((await storeOf(stack, appId)).peek(appId, 'item/banana')).toBeUndefined();

    const buyer = await stack.client(appId, { username: 'buyer' });
    await buyer.record.setDataWithAck(`${PURCHASE}/p1`, { itemId: 'apple' });
    await buyer.record.setDataWithAck(`${PURCHASE}/p2`, { itemId: 'banana' });
    await expect(buyer.record.setDataWithAck(`${PURCHASE}/p3`, { itemId: 'pear' })).rejects.toBe(
      'MESSAGE_DENIED',
    );
    // A missing item makes the rule fail (null.stock): a permission error, not a denial.
    await expect(buyer.record.setDataWithAck(`${PURCHASE}/p4`, { itemId: 'kiwi' })).rejects.toBe(
      'MESSAGE_PERMISSION_ERROR',
    );
    expect(await buyer.record.has(`${PURCHASE}/p3`)).toBe(false);

    // The same through a subscribed record: UPDATE, then a PATCH judged on the patched record.
    const purchase = await ready(buyer, `${PURCHASE}/p5`);
    await purchase.setWithAck({ itemId: 'banana', quantity: 1 });
    await expect(purchase.setWithAck('itemId', 'pear')).rejects.toBe('MESSAGE_DENIED');
    expect(await stored(stack, appId, `${PURCHASE}/p5`)).toEqual({
      version: 1,
      data: { itemId: 'banana', quantity: 1 },
    });
  });

  it("system-settings: anyone reads, only a user whose serverData role is 'admin' writes", async () => {
    await stack.api('POST', `/v1/apps/${appId}/users`, {
      email: 'admin@example.com',
      password: 'long enough password',
      serverData: { role: 'admin' },
    });
    const admin = await stack.client(appId, {
      type: 'email',
      email: 'admin@example.com',
      password: 'long enough password',
    });
    const visitor = await stack.client(appId, { username: 'visitor' });
    const watched = await ready(visitor, 'system-settings');

    await admin.record.setDataWithAck('system-settings', { maintenance: true });
    await becomes(watched, () => watched.get('maintenance') === true, 'admin write');
    await expect(watched.setWithAck({ maintenance: false })).rejects.toBe('MESSAGE_DENIED');
    const passerby = await stack.client(appId, { username: 'passerby' });
    await expect(
      passerby.record.setDataWithAck('system-settings', { maintenance: false }),
    ).rejects.toBe('MESSAGE_DENIED');
    expect(await admin.record.snapshot('system-settings')).toEqual({ maintenance: true });
  });

  it('"*" has no notify rule, so NOTIFY is denied', async () => {
    const client = await stack.client(appId, { username: 'notifier' });
    const denial = nextError(client, 'MESSAGE_DENIED');
    await expect(client.record.notify(['anything'])).rejects.toBe('"MESSAGE_DENIED"');
    expect((await denial).event).toBe('MESSAGE_DENIED');
  });
});

describe('rules replaced while clients hold subscriptions', () => {
  it('drops subscriptions and listens the new rules no longer allow, with MESSAGE_DENIED', async () => {
    const app = await stack.createApp({ namedUsers: true, permissions: ALLOW_ALL });
    const reader = await stack.client(app, { username: 'reader' });
    const writer = await stack.client(app, { username: 'writer' });
    const secret = await ready(reader, 'secret/1');
    const open = await ready(reader, 'public/1');
    reader.record.listen('secret/.*', (_name, response) => response.reject());
    const runtime = (await stack.runtime(app))!;
    await until(() => [...runtime.records.listeners.listenersOf()].length === 1, 'listen');
    await writer.record.setDataWithAck('secret/1', { v: 1 });
    await becomes(secret, () => secret.get('v') === 1, 'first secret');

    const recordDenied = recordError(secret);
    const listenDenied = nextError(reader, 'MESSAGE_DENIED');
    const rules = ALLOW_ALL.replace(
      'event:',
      '  "secret/*":\n    create: true\n    write: true\n    read: false\n    listen: false\nevent:',
    );
    const put = await stack.api('PUT', `/v1/apps/${app}/permissions`, { valve: rules });
    expect(put.status).toBe(200);

    expect(await recordDenied).toBe('MESSAGE_DENIED');
    expect((await listenDenied).event).toBe('MESSAGE_DENIED');
    await subscribers(stack, app, 'secret/1', 0);
    expect(await subscriberCount(stack, app, 'public/1')).toBe(1);
    expect([...runtime.records.listeners.listenersOf()]).toEqual([]);

    // Later writes reach the allowed record only. The writer's messages are
    // handled in order, so once the second arrives the first was never sent.
    await writer.record.setDataWithAck('secret/1', { v: 2 });
    await writer.record.setDataWithAck('public/1', { v: 2 });
    await becomes(open, () => open.get('v') === 2, 'public update');
    expect(secret.get()).toEqual({ v: 1 });
    // And new subscriptions follow the new rules.
    const again = await stack.client(app, { username: 'again' });
    expect(await recordError(again.record.getRecord('secret/2'))).toBe('MESSAGE_DENIED');
    await expect(again.record.snapshot('secret/1')).rejects.toBe('MESSAGE_DENIED');
  });
});
