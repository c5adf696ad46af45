import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type Harness, signUp, startControlPlane } from './harness.ts';

// GET /v1/apps/:id/audit filtered by actor, action and time, as the
// dashboard's Audit page asks for it; paging keeps the filters.

let h: Harness;

beforeAll(async () => {
  h = await startControlPlane('postgres');
});
afterAll(async () => {
  await h?.close();
});

type Page = { events: { action: string; actor: string; createdAt: string }[]; next: string | null };

describe('the audit log, filtered', () => {
  it('filters by actor, action (one or a kind) and time, and pages with the filters', async () => {
    const owner = await signUp(h, `Auditor-${Date.now()}@example.com`);
    const app = await createApp(h, owner.token, 'Audited');
    const base = `/v1/apps/${app.id}`;
    // Changes by the developer, then users made with an API key (another actor).
    await h.call('PATCH', base, { token: owner.token, body: { name: 'Audited 2' } });
    for (const maxConnections of [10, 20, 30]) {
      await h.call('PUT', `${base}/limits`, { token: owner.token, body: { maxConnections } });
    }
    const key = await h.call('POST', `${base}/keys`, { token: owner.token, body: { name: 'Ops' } });
    expect(key.status).toBe(201);
    const keyActor = `api key ${key.body.prefix}`;
    await h.call('POST', `${base}/users`, {
      token: key.body.key,
      body: { email: 'ada@example.com', password: 'long enough password' },
    });
    const get = async (query: string) => {
      const res = await h.call('GET', `${base}/audit?${query}`, { token: owner.token });
      expect(res.status).toBe(200);
      return res.body as Page;
    };

    const all = await get('');
    expect(all.events.map((e) => e.action)).toEqual([
      'user.created',
      'key.created',
      'limits.updated',
      'limits.updated',
      'limits.updated',
      'app.renamed',
      'app.created',
    ]);
    // Actor: any part of it, in any case.
    const byKey = await get(`actor=${encodeURIComponent(key.body.prefix.toUpperCase())}`);
    expect(byKey.events.map((e) => [e.actor, e.action])).toEqual([[keyActor, 'user.created']]);
    const byOwner = await get('actor=auditor-');
    expect(byOwner.events).toHaveLength(6);
    // The actor is matched as text: % is no wildcard.
    expect((await get(`actor=${encodeURIComponent('%')}`)).events).toEqual([]);
    // One action, or every action of a kind.
    expect((await get('action=app.renamed')).events.map((e) => e.action)).toEqual(['app.renamed']);
    expect((await get('action=app')).events.map((e) => e.action)).toEqual([
      'app.renamed',
      'app.created',
    ]);
    // Paging keeps the filter: two limits events, then the third, then no more.
    const first = await get('action=limits&limit=2');
    expect(first.events).toHaveLength(2);
    expect(first.next).toEqual(expect.any(String));
    const second = await get(`action=limits&limit=2&before=${first.next}`);
    expect(second.events.map((e) => e.action)).toEqual(['limits.updated']);
    expect(second.next).toBeNull();
    // Time: since is inclusive, until exclusive.
    const renamedAt = all.events.find((e) => e.action === 'app.renamed')?.createdAt ?? '';
    const fromRename = await get(`since=${encodeURIComponent(renamedAt)}`);
    expect(fromRename.events.at(-1)?.action).toBe('app.renamed');
    const beforeRename = await get(`until=${encodeURIComponent(renamedAt)}`);
    expect(beforeRename.events.map((e) => e.action)).toEqual(['app.created']);
    const future = new Date(Date.now() + 60_000).toISOString();
    expect((await get(`since=${encodeURIComponent(future)}`)).events).toEqual([]);
  });

  it('refuses filters that are not an action name or a time', async () => {
    const owner = await signUp(h);
    const app = await createApp(h, owner.token);
    for (const query of ['action=DROP%20TABLE', 'since=yesterday', 'until=2026-13-40', 'actor=']) {
      const res = await h.call('GET', `/v1/apps/${app.id}/audit?${query}`, { token: owner.token });
      expect(res.status, query).toBe(400);
      expect(res.body.error.code).toBe('VALIDATION_FAILED');
    }
  });
});
