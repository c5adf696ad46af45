import { type Message, RECORD_ACTION as RA } from '@hubstream/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Stack, startStack } from './harness.ts';
import { becomes, ready, stored, storeOf, subscribers } from './records-helpers.ts';
import { connectRecordWire, isAction, type RecordWire } from './records-wire.ts';

// The RECORD topic frame by frame (PROTOCOL.md 4, traces in 8.3), for what
// the official client hides: field presence, acks, no echo, conflicts.

let stack: Stack;
let appId: string;
const open: RecordWire[] = [];
beforeAll(async () => {
  stack = await startStack();
  appId = await stack.createApp();
});
afterAll(async () => {
  for (const wire of open) await wire.close();
  await stack?.close();
});

async function wire(username: string): Promise<RecordWire> {
  const connection = await connectRecordWire(`${stack.realtimeUrl}/${appId}`, username);
  open.push(connection);
  return connection;
}

/** Subscribes (creating the record if missing) and returns its READ_RESPONSE. */
async function subscribe(w: RecordWire, name: string, correlationId = name): Promise<Message> {
  w.send({ action: RA.SUBSCRIBECREATEANDREAD, names: [name], correlationId });
  return w.next(isAction(RA.READ_RESPONSE, name));
}

const peek = async (name: string) => (await storeOf(stack, appId)).peek(appId, name);

describe('RECORD frames', () => {
  it('answers a subscription with READ_RESPONSE, version 0 on the wire, then the ack', async () => {
    const w = await wire('reader');
    const response = await subscribe(w, 'fresh', '0');
    expect(response).toMatchObject({ name: 'fresh', version: 0, data: '{}' });
    expect(Object.hasOwn(response, 'version')).toBe(true);
    const ack = await w.next((m) => m.action === RA.SUBSCRIBECREATEANDREAD && m.isAck === true);
    expect(ack.correlationId).toBe('0');
  });

  it('SUBSCRIBEANDHEAD answers versions in bulk, -1 for missing records, creating nothing', async () => {
    const writer = await wire('writer');
    await subscribe(writer, 'headed');
    writer.send({ action: RA.UPDATE, name: 'headed', version: 1, data: '{"a":1}' });
    writer.send({ action: RA.UPDATE, name: 'headed', version: 2, data: '{"a":2}' });
    await writer.sync();

    const w = await wire('header');
    w.send({ action: RA.SUBSCRIBEANDHEAD, names: ['headed', 'absent'], correlationId: '3' });
    const bulk = await w.next(isAction(RA.HEAD_RESPONSE_BULK));
    expect(bulk.versions).toEqual({ headed: 2, absent: -1 });
    await w.next((m) => m.action === RA.SUBSCRIBEANDHEAD && m.isAck === true);
    // Read-only subscriptions read a missing record as version -1, {}.
    w.send({ action: RA.SUBSCRIBEANDREAD, names: ['absent-too'], correlationId: '4' });
    expect(await w.next(isAction(RA.READ_RESPONSE, 'absent-too'))).toMatchObject({
      version: -1,
      data: '{}',
    });
    w.send({ action: RA.HEAD, name: 'absent' });
    expect((await w.next(isAction(RA.HEAD_RESPONSE, 'absent'))).version).toBe(-1);
    expect(await peek('absent')).toBeNull();
    expect(await peek('absent-too')).toBeNull();
    // Both are subscriptions all the same: a later write reaches them.
    writer.send({ action: RA.CREATEANDUPDATE, name: 'absent', version: -1, data: '{"now":1}' });
    expect(await w.next(isAction(RA.UPDATE, 'absent'))).toMatchObject({
      version: 1,
      data: '{"now":1}',
    });
  });

  it('applies v+1 and -1, broadcasts to the others only, acks with the correlation id', async () => {
    const a = await wire('a');
    const b = await wire('b');
    await subscribe(a, 'w');
    await subscribe(b, 'w');

    a.send({ action: RA.UPDATE, name: 'w', version: 1, data: '{"n":1,"m":{"k":1}}' });
    expect(await b.next(isAction(RA.UPDATE, 'w'))).toMatchObject({
      version: 1,
      data: '{"n":1,"m":{"k":1}}',
    });

    a.send({
      action: RA.PATCH,
      name: 'w',
      version: -1,
      path: 'm.k',
      data: '2',
      isWriteAck: true,
      correlationId: '7',
    });
    expect(await a.next(isAction(RA.WRITE_ACKNOWLEDGEMENT, 'w'))).toMatchObject({
      correlationId: '7',
      isWriteAck: true,
    });
    const patch = await b.next(isAction(RA.PATCH, 'w'));
    expect(patch).toMatchObject({ version: 2, path: 'm.k', data: '2' });
    expect(patch.isWriteAck).toBeUndefined();
    expect(patch.correlationId).toBeUndefined();

    a.send({ action: RA.ERASE, name: 'w', version: 3, path: 'm' });
    const erase = await b.next((m) => m.action === RA.PATCH && m.version === 3);
    expect(erase.path).toBe('m');
    expect(Object.hasOwn(erase, 'data')).toBe(false);

    await a.sync();
    // The writer got its ack and nothing else: no echo of its own writes.
    expect(a.untaken().filter((m) => m.name === 'w')).toEqual([]);
    expect(await peek('w')).toEqual({ version: 3, data: { n: 1 } });
  });

  it('two writers on one version: one wins, the other gets VERSION_EXISTS with the winner', async () => {
    const a = await wire('a');
    const b = await wire('b');
    await subscribe(a, 'contested');
    await subscribe(b, 'contested');
    a.send({ action: RA.UPDATE, name: 'contested', version: 1, data: '{"by":"a"}' });
    b.send({
      action: RA.UPDATE,
      name: 'contested',
      version: 1,
      data: '{"by":"b"}',
      isWriteAck: true,
      correlationId: '1',
    });
    await Promise.all([a.sync(), b.sync()]);
    const stored = await peek('contested');
    if (!stored) throw new Error('the record is missing');
    expect(stored.version).toBe(1);
    const winner = (stored.data as { by: string }).by;
    const loser = winner === 'a' ? b : a;
    const conflict = await loser.next(isAction(RA.VERSION_EXISTS, 'contested'));
    expect(conflict).toMatchObject({
      originalAction: RA.UPDATE,
      version: 1,
      data: JSON.stringify({ by: winner }),
    });
    if (loser === b) expect(conflict).toMatchObject({ correlationId: '1', isWriteAck: true });
    // The loser, a subscriber, also got the winning update; the winner no conflict.
    expect(await loser.next(isAction(RA.UPDATE, 'contested'))).toMatchObject({ version: 1 });
    const winnerWire = loser === a ? b : a;
    expect(winnerWire.untaken().some((m) => m.action === RA.VERSION_EXISTS)).toBe(false);
  });

  it('a version that skips ahead is INVALID_VERSION; a write to a missing record RECORD_NOT_FOUND', async () => {
    const w = await wire('skipper');
    await subscribe(w, 'skipped');
    w.send({ action: RA.UPDATE, name: 'skipped', version: 5, data: '{"x":1}' });
    expect(await w.next(isAction(RA.INVALID_VERSION, 'skipped'))).toMatchObject({
      version: 0,
      originalAction: RA.UPDATE,
    });
    w.send({
      action: RA.UPDATE,
      name: 'never-created',
      version: 1,
      data: '{}',
      isWriteAck: true,
      correlationId: '9',
    });
    expect(await w.next(isAction(RA.RECORD_NOT_FOUND, 'never-created'))).toMatchObject({
      originalAction: RA.UPDATE,
      correlationId: '9',
      isWriteAck: true,
      isError: true,
    });
    expect(await peek('skipped')).toEqual({ version: 0, data: {} });
    expect(await peek('never-created')).toBeNull();
  });

  it('rejects unsafe paths and malformed payloads, and nothing changes', async () => {
    const w = await wire('hostile');
    await subscribe(w, 'safe');
    w.send({ action: RA.UPDATE, name: 'safe', version: 1, data: '{"ok":true,"list":[1]}' });
    const bad: Omit<Message, 'topic'>[] = [
      { action: RA.PATCH, path: '__proto__.polluted', data: 'true' },
      { action: RA.PATCH, path: 'a.__proto__.polluted', data: 'true' },
      { action: RA.PATCH, path: 'constructor.prototype.polluted', data: 'true' },
      { action: RA.PATCH, path: 'list[0].prototype', data: 'true' },
      { action: RA.PATCH, path: ' __proto__ .polluted', data: 'true' },
      { action: RA.ERASE, path: '__proto__' },
      { action: RA.CREATEANDPATCH, path: 'constructor', data: '{}' },
      { action: RA.PATCH, path: 'a[x]', data: '1' },
      { action: RA.PATCH, path: 'list.key', data: '1' },
      { action: RA.PATCH, path: 'list[99999999]', data: '1' },
      { action: RA.PATCH, path: '', data: '1' },
      { action: RA.PATCH, data: '1' },
      { action: RA.UPDATE, data: '{nope' },
      { action: RA.UPDATE, data: '5' },
      { action: RA.UPDATE, data: 'null' },
      { action: RA.UPDATE },
      { action: RA.CREATEANDUPDATE, data: '"text"' },
      { action: RA.UPDATE, data: '{"nul":"\\u0000"}' },
    ];
    for (const [i, fields] of bad.entries()) {
      w.send({ name: 'safe', version: -1, isWriteAck: true, correlationId: `bad${i}`, ...fields });
      const reply = await w.next((m) => m.correlationId === `bad${i}`);
      expect({ i, action: reply.action }).toEqual({ i, action: RA.INVALID_MESSAGE_DATA });
      expect(reply).toMatchObject({ name: 'safe', isError: true, isWriteAck: true });
    }
    expect(await peek('safe')).toEqual({ version: 1, data: { ok: true, list: [1] } });
    expect(Object.hasOwn(Object.prototype, 'polluted')).toBe(false);
    // The connection is still fine.
    w.send({ action: RA.PATCH, name: 'safe', version: 2, path: 'list[1]', data: '2' });
    await w.sync();
    expect(await peek('safe')).toEqual({ version: 2, data: { ok: true, list: [1, 2] } });
  });

  it('acks UNSUBSCRIBE with its correlation id, and updates stop', async () => {
    const a = await wire('a');
    const b = await wire('b');
    await subscribe(a, 'leaving');
    await subscribe(b, 'leaving');
    b.send({ action: RA.UNSUBSCRIBE, names: ['leaving'], correlationId: 'leaving' });
    const ack = await b.next((m) => m.action === RA.UNSUBSCRIBE);
    expect(ack).toMatchObject({ correlationId: 'leaving', isAck: true });
    a.send({ action: RA.UPDATE, name: 'leaving', version: 1, data: '{}' });
    await a.sync();
    await b.sync();
    expect(b.untaken().filter((m) => m.action === RA.UPDATE)).toEqual([]);
  });

  it('DELETE: DELETE_SUCCESS, DELETED to the others, and a missing record deletes fine', async () => {
    const a = await wire('a');
    const b = await wire('b');
    await subscribe(a, 'gone');
    await subscribe(b, 'gone');
    a.send({ action: RA.DELETE, name: 'gone' });
    expect(await a.next(isAction(RA.DELETE_SUCCESS, 'gone'))).toBeTruthy();
    expect(await b.next(isAction(RA.DELETED, 'gone'))).toBeTruthy();
    await subscribers(stack, appId, 'gone', 0);
    a.send({ action: RA.DELETE, name: 'never-was' });
    expect(await a.next(isAction(RA.DELETE_SUCCESS, 'never-was'))).toBeTruthy();
    await a.sync();
    expect(a.untaken().filter((m) => m.action === RA.DELETED)).toEqual([]);
  });
});

describe('NOTIFY', () => {
  it('re-reads records changed in the database and tells their subscribers', async () => {
    const a = await stack.client(appId, { username: 'a' });
    const b = await stack.client(appId, { username: 'b' });
    const changed = await ready(a, 'notify/changed');
    const removed = await ready(a, 'notify/removed');
    await changed.setWithAck({ before: true });
    await removed.setWithAck({ before: true });
    expect(await stored(stack, appId, 'notify/changed')).toEqual({
      version: 1,
      data: { before: true },
    });

    // Someone edits the database directly, then tells the node.
    await stack.db.prisma.record.update({
      where: { appId_name: { appId, name: 'notify/changed' } },
      data: { version: 7, data: { fromDatabase: true } },
    });
    await stack.db.prisma.record.delete({
      where: { appId_name: { appId, name: 'notify/removed' } },
    });
    const deleted = new Promise<void>((resolve) => removed.on('delete', () => resolve()));
    await b.record.notify(['notify/changed', 'notify/removed']);
    await becomes(changed, (d) => JSON.stringify(d) === '{"fromDatabase":true}', 'notified data');
    expect(changed.version).toBe(7);
    await deleted;
    expect(await b.record.has('notify/removed')).toBe(false);
    // The node continues from the database's version.
    await changed.setWithAck('more', 1);
    expect(await stored(stack, appId, 'notify/changed')).toEqual({
      version: 8,
      data: { fromDatabase: true, more: 1 },
    });
  });
});
