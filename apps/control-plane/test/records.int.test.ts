import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prefixEnd } from '../src/routes/records/prefix.ts';
import { createApp, type Harness, signUp, startControlPlane } from './harness.ts';

// The data browser's routes over the records table (issue 18 item 2): the
// list with prefix search and keyset paging, tenancy, and what is refused
// before a realtime node is asked. Reads and edits through a realtime node
// are tested with one in apps/realtime/test/records-browser.int.test.ts.

let h: Harness;
let owner: { token: string };
let other: { token: string };
let appId: string;
let otherAppId: string;

const NAMES = [
  'a%b',
  'a_b',
  'aXb',
  'axb',
  'users/ada',
  'users/bob',
  'users/zoe',
  'users0',
  'usersX',
  'users~',
  'users/ünï',
  'list/all',
];

beforeAll(async () => {
  h = await startControlPlane('postgres');
  owner = await signUp(h);
  other = await signUp(h);
  appId = (await createApp(h, owner.token)).id;
  otherAppId = (await createApp(h, other.token)).id;
  for (const [i, name] of NAMES.entries()) {
    const data = name.startsWith('list/') ? ['users/ada', 'users/bob'] : { i };
    await h.db.sql.query(
      'INSERT INTO records (app_id, name, version, data) VALUES ($1, $2, $3, $4)',
      [appId, name, i + 1, JSON.stringify(data)],
    );
  }
  // Another app's record with a matching name never shows.
  await h.db.sql.query('INSERT INTO records (app_id, name, version, data) VALUES ($1, $2, 1, $3)', [
    otherAppId,
    'users/eve',
    '{}',
  ]);
});

afterAll(async () => {
  await h?.close();
});

type Page = {
  records: { name: string; version: number; updatedAt: string; isList: boolean }[];
  next: string | null;
};
const list = async (query: string, token = owner.token) =>
  h.call('GET', `/v1/apps/${appId}/records${query}`, { token });

/** Every page of a listing, following `next`. */
async function all(query: Record<string, string>, limit: number): Promise<Page[]> {
  const pages: Page[] = [];
  let after: string | null = null;
  do {
    const params = new URLSearchParams({ ...query, limit: String(limit) });
    if (after !== null) params.set('after', after);
    const res = await list(`?${params}`);
    expect(res.status).toBe(200);
    pages.push(res.body);
    after = res.body.next;
  } while (after !== null && pages.length < 20);
  return pages;
}

describe('the data browser list', () => {
  it('lists every record in byte order, with version, time and list flag', async () => {
    const res = await list('');
    expect(res.status).toBe(200);
    const byteOrder = [...NAMES].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    expect(res.body.records.map((r: { name: string }) => r.name)).toEqual(byteOrder);
    expect(res.body.next).toBeNull();
    const listRecord = res.body.records.find((r: { name: string }) => r.name === 'list/all');
    expect(listRecord).toMatchObject({ version: NAMES.length, isList: true });
    expect(new Date(listRecord.updatedAt).getTime()).toBeGreaterThan(Date.now() - 600_000);
    const ada = res.body.records.find((r: { name: string }) => r.name === 'users/ada');
    expect(ada).toMatchObject({ version: 5, isList: false });
  });

  it('pages with `after` without gaps or repeats', async () => {
    const pages = await all({}, 5);
    expect(pages.map((p) => p.records.length)).toEqual([5, 5, 2]);
    expect(pages.map((p) => p.next)).toEqual([
      pages[0]!.records[4]!.name,
      pages[1]!.records[4]!.name,
      null,
    ]);
    const names = pages.flatMap((p) => p.records.map((r) => r.name));
    expect(new Set(names).size).toBe(NAMES.length);
  });

  it('matches the prefix as text: % and _ are no wildcards', async () => {
    const names = async (prefix: string) =>
      (await all({ prefix }, 2)).flatMap((p) => p.records.map((r) => r.name));
    expect(await names('a%')).toEqual(['a%b']);
    expect(await names('a_')).toEqual(['a_b']);
    expect(await names('%')).toEqual([]);
    expect(await names('_')).toEqual([]);
    expect(await names('users/')).toEqual(['users/ada', 'users/bob', 'users/zoe', 'users/ünï']);
    expect(await names('users/ü')).toEqual(['users/ünï']);
    // Case matters, as in record names.
    expect(await names('ax')).toEqual(['axb']);
    expect(await names('nothing')).toEqual([]);
    // Prefix and paging together.
    const pages = await all({ prefix: 'users' }, 3);
    expect(pages.flatMap((p) => p.records.map((r) => r.name))).toEqual([
      'users/ada',
      'users/bob',
      'users/zoe',
      'users/ünï',
      'users0',
      'usersX',
      'users~',
    ]);
  });

  it('refuses bad paging input', async () => {
    expect((await list('?limit=0')).status).toBe(400);
    expect((await list('?limit=201')).status).toBe(400);
    expect((await list('?sort=name')).status).toBe(400);
  });

  it("is an app's owner's only: another account gets 404 on every route", async () => {
    const paths = [
      ['GET', `/v1/apps/${appId}/records`],
      ['GET', `/v1/apps/${appId}/records/users%2Fada`],
      ['PUT', `/v1/apps/${appId}/records/users%2Fada`],
      ['DELETE', `/v1/apps/${appId}/records/users%2Fada`],
    ] as const;
    for (const [method, path] of paths) {
      const body = method === 'PUT' ? { body: { data: { hacked: true }, version: 5 } } : {};
      const res = await h.call(method, path, { token: other.token, ...body });
      expect(res.status, `${method} ${path}`).toBe(404);
      expect(res.body.error.code).toBe('NOT_FOUND');
      expect((await h.call(method, path, body)).status, `${method} ${path} signed out`).toBe(401);
    }
    // The other account's own app lists only its own record.
    const own = await h.call('GET', `/v1/apps/${otherAppId}/records`, { token: other.token });
    expect(own.body.records.map((r: { name: string }) => r.name)).toEqual(['users/eve']);
    const rows = await h.db.sql.query<{ data: unknown }>(
      'SELECT data FROM records WHERE app_id = $1 AND name = $2',
      [appId, 'users/ada'],
    );
    expect(rows[0]!.data).toEqual({ i: 4 });
  });

  it('refuses a malformed edit with 400 before anything is written', async () => {
    const path = `/v1/apps/${appId}/records/users%2Fada`;
    const badJson = await h.call('PUT', path, {
      token: owner.token,
      body: '{"data": {"name": "Ada"}, "version": 5',
      headers: { 'content-type': 'application/json' },
    });
    expect(badJson.status).toBe(400);
    expect(badJson.body.error.code).toBe('INVALID_JSON');
    for (const body of [
      { data: 'text', version: 5 },
      { data: 42, version: 5 },
      { data: null, version: 5 },
      { data: { name: 'Ada' } },
      { data: { name: 'Ada' }, version: -1 },
      { data: { name: 'Ada' }, version: 5, extra: 1 },
    ]) {
      const res = await h.call('PUT', path, { token: owner.token, body });
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.error.code).toBe('VALIDATION_FAILED');
    }
    expect((await h.call('DELETE', `${path}?version=0`, { token: owner.token })).status).toBe(400);
  });

  it('computes the end of a prefix range past every name that starts with it', () => {
    expect(prefixEnd('users/')).toBe('users0');
    expect(prefixEnd('a\u{10ffff}')).toBe('b');
    expect(prefixEnd('\u{10ffff}')).toBeNull();
    expect(prefixEnd('a\ud7ff')).toBe('a\ue000');
  });
});
