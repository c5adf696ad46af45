import { until } from '@hubstream/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALLOW_ALL, type Stack, startStack } from './harness.ts';
import { becomes, ready } from './records-helpers.ts';

// The dashboard's data browser (issue 18 item 2): the control plane reads,
// edits and deletes records through a realtime node's HTTP data API, so
// clients subscribed on any node see the change. Two nodes over Redis: the
// control plane's calls go to node 0, the official client is on node 1.

let stack: Stack;
let appId: string;

const recordPath = (name: string) => `/v1/apps/${appId}/records/${encodeURIComponent(name)}`;

describe('records edited from the dashboard', () => {
  beforeAll(async () => {
    stack = await startStack({ redis: true, nodes: 2 });
    appId = await stack.createApp();
  });
  afterAll(async () => {
    await stack?.close();
  });

  it("reads a client's record, and an edit with its version reaches the client's subscription", async () => {
    const client = await stack.client(appId, {}, { node: 1 });
    const record = await ready(client, 'users/ada');
    await record.setWithAck({ name: 'Ada', score: 1 });

    const read = await stack.api('GET', recordPath('users/ada'));
    expect(read).toMatchObject({
      status: 200,
      body: { name: 'users/ada', version: 1, data: { name: 'Ada', score: 1 }, isList: false },
    });

    const seen: unknown[] = [];
    record.subscribe((data: unknown) => seen.push(data));
    const edit = await stack.api('PUT', recordPath('users/ada'), {
      data: { name: 'Ada', score: 2 },
      version: 1,
    });
    expect(edit).toMatchObject({
      status: 200,
      body: { version: 2, data: { name: 'Ada', score: 2 } },
    });
    await becomes(record, () => record.get('score') === 2, 'the edit at the client');
    expect(record.version).toBe(2);
    expect(seen).toEqual([{ name: 'Ada', score: 2 }]);

    // The client writes again: an edit based on version 2 is refused, naming version 3.
    await record.setWithAck('score', 3);
    const stale = await stack.api('PUT', recordPath('users/ada'), {
      data: { name: 'Ada', score: 99 },
      version: 2,
    });
    expect(stale.status).toBe(409);
    expect(stale.body.error).toMatchObject({
      code: 'VERSION_CONFLICT',
      details: [{ currentVersion: 3 }],
    });
    expect(stale.body.error.message).toContain('version 3');
    expect(record.get('score')).toBe(3);
    // An edit ahead of the record is a conflict too, never a jump in versions.
    const ahead = await stack.api('PUT', recordPath('users/ada'), { data: {}, version: 7 });
    expect(ahead.status).toBe(409);
    expect((await stack.api('GET', recordPath('users/ada'))).body.version).toBe(3);
  });

  it('creates a record with version 0, shows lists as arrays, and deletes with a version check', async () => {
    const client = await stack.client(appId, {}, { node: 1 });
    const list = client.record.getList('lists/all');
    await list.whenReady();
    list.setEntries(['users/ada', 'users/bob']);
    await until(
      async () => (await stack.api('GET', recordPath('lists/all'))).body.version === 1,
      'the list written',
    );
    expect((await stack.api('GET', recordPath('lists/all'))).body).toMatchObject({
      data: ['users/ada', 'users/bob'],
      isList: true,
    });
    const appended = await stack.api('PUT', recordPath('lists/all'), {
      data: ['users/ada', 'users/bob', 'users/cy'],
      version: 1,
    });
    expect(appended.status).toBe(200);
    await until(async () => list.getEntries().length === 3, 'the entry at the client');

    expect((await stack.api('GET', recordPath('fresh'))).status).toBe(404);
    const created = await stack.api('PUT', recordPath('fresh'), { data: { a: 1 }, version: 0 });
    expect(created).toMatchObject({ status: 200, body: { version: 1 } });
    const again = await stack.api('PUT', recordPath('fresh'), { data: { a: 2 }, version: 0 });
    expect(again.body.error).toMatchObject({
      code: 'VERSION_CONFLICT',
      details: [{ currentVersion: 1 }],
    });

    const watched = await ready(client, 'fresh');
    const deleted = new Promise<void>((resolve) => watched.on('delete', () => resolve()));
    const wrong = await stack.api('DELETE', `${recordPath('fresh')}?version=5`);
    expect(wrong.status).toBe(409);
    expect(wrong.body.error.details).toEqual([{ currentVersion: 1 }]);
    const gone = await stack.api('DELETE', `${recordPath('fresh')}?version=1`);
    expect(gone).toMatchObject({ status: 200, body: { name: 'fresh', deleted: true } });
    await deleted;
    expect((await stack.api('GET', recordPath('fresh'))).status).toBe(404);
    expect((await stack.api('DELETE', recordPath('fresh'))).status).toBe(404);

    // The key the control plane made for itself is not one of the app's keys.
    const keys = await stack.api('GET', `/v1/apps/${appId}/keys`);
    expect(keys.body.keys).toEqual([]);
    const audit = await stack.api('GET', `/v1/apps/${appId}/audit?action=record`);
    expect(
      audit.body.events.map((e: { action: string; target: string }) => [e.action, e.target]),
    ).toEqual([
      ['record.deleted', 'fresh'],
      ['record.created', 'fresh'],
      ['record.updated', 'lists/all'],
      ['record.updated', 'users/ada'],
    ]);
  });

  it("answers 429 when the app's message rate is used up, not a denial", async () => {
    const limited = await stack.createApp();
    const limits = await stack.api('PUT', `/v1/apps/${limited}/limits`, {
      maxMessagesPerSecond: 1,
    });
    expect(limits.status).toBe(200);
    const answers: { status: number; code?: string }[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await stack.api('GET', `/v1/apps/${limited}/records/anything`);
      answers.push({ status: res.status, code: res.body?.error?.code });
    }
    expect(answers).toContainEqual({ status: 429, code: 'RATE_LIMITED' });
    expect(answers.every((a) => a.status === 429 || a.status === 404)).toBe(true);
  });

  it("answers 403 when the app's rules refuse the dashboard's user", async () => {
    // Everything allowed but writes and deletes by the dashboard's user.
    const permissions = ALLOW_ALL.replace(
      'write: true\n    delete: true',
      'write: "user.id != \'hubstream:dashboard\'"\n    delete: "user.id != \'hubstream:dashboard\'"',
    );
    expect(permissions).not.toBe(ALLOW_ALL);
    const locked = await stack.createApp({ permissions });
    const client = await stack.client(locked, {}, { node: 1 });
    const record = await ready(client, 'doc');
    await record.setWithAck({ v: 1 });
    const path = `/v1/apps/${locked}/records/doc`;
    expect((await stack.api('GET', path)).body).toMatchObject({ version: 1, data: { v: 1 } });
    const edit = await stack.api('PUT', path, { data: { v: 2 }, version: 1 });
    expect(edit.status).toBe(403);
    expect(edit.body.error.code).toBe('DENIED_BY_PERMISSIONS');
    expect(edit.body.error.message).toContain('hubstream:dashboard');
    expect((await stack.api('DELETE', path)).status).toBe(403);
    expect(record.get()).toEqual({ v: 1 });
  });
});
