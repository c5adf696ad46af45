import { describe, expect, it } from 'vitest';
import { KeyedQueue } from '../src/keyed-queue.ts';
import { parseChange, replaceAnnouncement, writeAnnouncement } from '../src/record-changes.ts';
import { lockingBegin, recordLockIds } from '../src/record-locks.ts';
import {
  ASYNC_COMMIT_CONDITION,
  deleteRecordSql,
  deleteWithValues,
  recordUpsert,
  sqlLiteral,
  uniqueRecords,
  upsertSql,
  upsertWithValues,
} from '../src/record-sql.ts';

// The pieces of the stores that need no database: the upsert's shapes, the
// order every writer takes rows and locks in, and the change messages.
// (Run on Postgres: records-store.int.test.ts, records-redis-store.int.test.ts.)

const HIGHER_VERSION_WINS = 'WHERE records.version < EXCLUDED.version';

describe('the upsert', () => {
  it('is one statement in every shape, raising a version and never lowering it', () => {
    const shapes = [
      upsertSql({ rows: 'one', deletedApps: 'foreign-key' }),
      upsertSql({ rows: 'one', deletedApps: 'foreign-key', asyncCommit: true }),
      upsertSql({ rows: 'one', deletedApps: 'exists' }),
      upsertSql({ rows: 'many', deletedApps: 'exists' }),
      upsertSql({ rows: 'many', deletedApps: 'exists', asyncCommit: true }),
    ];
    for (const text of shapes) {
      expect(text).toContain('INSERT INTO records (app_id, name, version, data, updated_at)');
      expect(text).toContain('ON CONFLICT (app_id, name) DO UPDATE');
      expect(text.trimEnd().endsWith(HIGHER_VERSION_WINS)).toBe(true);
    }
  });

  it("leaves a deleted app to the foreign key or to EXISTS, as the caller's shape says", () => {
    const durable = upsertSql({ rows: 'one', deletedApps: 'foreign-key' });
    expect(durable).not.toContain('EXISTS');
    expect(upsertSql({ rows: 'one', deletedApps: 'exists' })).toContain(
      'WHERE EXISTS (SELECT 1 FROM apps WHERE apps.id = $1::text)',
    );
    const batch = upsertSql({ rows: 'many', deletedApps: 'exists' });
    expect(batch).toContain('unnest($1::text[], $2::text[], $3::int[], $4::text[])');
    expect(batch).toContain('WHERE EXISTS (SELECT 1 FROM apps WHERE apps.id = r.app_id)');
  });

  it('commits asynchronously only when asked, inside the statement', () => {
    expect(upsertSql({ rows: 'one', deletedApps: 'foreign-key' })).not.toContain('set_config');
    expect(upsertSql({ rows: 'many', deletedApps: 'exists' })).not.toContain('set_config');
    expect(upsertSql({ rows: 'one', deletedApps: 'foreign-key', asyncCommit: true })).toContain(
      `WHERE ${ASYNC_COMMIT_CONDITION}`,
    );
    expect(upsertSql({ rows: 'many', deletedApps: 'exists', asyncCommit: true })).toContain(
      `AND ${ASYNC_COMMIT_CONDITION}`,
    );
  });

  it('takes many rows in the one order every writer uses, as aligned arrays', () => {
    const { values } = recordUpsert([
      { appId: 'bbbbbb', name: 'a', version: 1, json: '{"b":1}' },
      { appId: 'aaaaaa', name: 'z', version: 2, json: '{"z":2}' },
      { appId: 'aaaaaa', name: 'c', version: 3, json: '[]' },
    ]);
    expect(values).toEqual([
      ['aaaaaa', 'aaaaaa', 'bbbbbb'],
      ['c', 'z', 'a'],
      [3, 2, 1],
      ['[]', '{"z":2}', '{"b":1}'],
    ]);
  });

  it('names each record once, the last mention winning, in that order', () => {
    expect(
      uniqueRecords([
        { appId: 'bbbbbb', name: 'x', n: 1 },
        { appId: 'aaaaaa', name: 'y', n: 2 },
        { appId: 'bbbbbb', name: 'x', n: 3 },
      ]),
    ).toEqual([
      { appId: 'aaaaaa', name: 'y', n: 2 },
      { appId: 'bbbbbb', name: 'x', n: 3 },
    ]);
  });
});

describe('the advisory locks', () => {
  it('are the same for the same record, few per app, and taken in ascending order', () => {
    const one = recordLockIds([{ appId: 'aaaaaa', name: 'r' }]);
    expect(one).toHaveLength(1);
    expect(recordLockIds([{ appId: 'aaaaaa', name: 'r' }])).toEqual(one);
    const names = Array.from({ length: 1000 }, (_, i) => ({ appId: 'aaaaaa', name: `r${i}` }));
    const ids = recordLockIds(names);
    // Buckets: a thousand names share at most 64 locks.
    expect(ids.length).toBeLessThanOrEqual(64);
    const sorted = [...ids].sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : 1));
    expect(ids).toEqual(sorted);
    // Another app's records never share its locks.
    const other = recordLockIds(names.map((r) => ({ ...r, appId: 'bbbbbb' })));
    expect(other.filter((id) => ids.includes(id))).toEqual([]);
  });

  it("go with a write's BEGIN: shared or exclusive, and its commit mode", () => {
    const record = { appId: 'aaaaaa', name: 'r' };
    const [id] = recordLockIds([record]);
    expect(lockingBegin(record, 'shared')).toBe(`SELECT pg_advisory_xact_lock_shared(${id})`);
    expect(lockingBegin(record, 'exclusive', { asyncCommit: true })).toBe(
      `SET LOCAL synchronous_commit TO off; SELECT pg_advisory_xact_lock(${id})`,
    );
  });
});

describe('statements with their values written in (sent with a BEGIN)', () => {
  it('quote text whatever it holds, and refuse a NUL character', () => {
    expect(sqlLiteral('plain')).toBe("E'plain'");
    expect(sqlLiteral("it's")).toBe("E'it''s'");
    expect(sqlLiteral('a\\b')).toBe("E'a\\\\b'");
    expect(sqlLiteral("\\'; DROP TABLE records; --")).toBe("E'\\\\''; DROP TABLE records; --'");
    expect(sqlLiteral('{"n":"\\u0000"}')).toBe(`E'{"n":"\\\\u0000"}'`);
    expect(() => sqlLiteral('a\u0000b')).toThrow(RangeError);
  });

  it('are the parameterised statements, each parameter replaced once by its literal', () => {
    const row = { appId: 'aaaaaa', name: "o'n$2", version: 7, json: '{"s":"$1 $4 \\\'"}' };
    const upsert = upsertWithValues(row, { deletedApps: 'exists' });
    const expected = upsertSql({ rows: 'one', deletedApps: 'exists' })
      .replace('$1::text,', `${sqlLiteral(row.appId)}::text,`)
      .replace('$2::text', `${sqlLiteral(row.name)}::text`)
      .replace('$3::int', '7::int')
      .replace('$4::jsonb', `${sqlLiteral(row.json)}::jsonb`)
      .replace('apps.id = $1::text', `apps.id = ${sqlLiteral(row.appId)}::text`);
    expect(upsert).toBe(expected);
    expect(upsert).toContain(HIGHER_VERSION_WINS);
    expect(() => upsertWithValues({ ...row, version: 1.5 }, { deletedApps: 'exists' })).toThrow(
      RangeError,
    );
    expect(deleteWithValues({ appId: 'aaaaaa', name: "x'" })).toBe(
      deleteRecordSql().replace('$1', "E'aaaaaa'").replace('$2', "E'x'''"),
    );
  });
});

describe('change messages', () => {
  /** What a subscriber hears: the script appends the data when asked to. */
  const published = (announcement: { message: string; appendData: '0' | '1' }, data: string) =>
    announcement.appendData === '1' ? announcement.message + data : announcement.message;

  it('tell other nodes each kind of change as it was made', () => {
    const data = '{"a":[1,"x\\ny"]}';
    const heard = (announcement: { message: string; appendData: '0' | '1' }) =>
      parseChange('aaaaaa', published(announcement, data));
    expect(heard(writeAnnouncement('me', 'r', 3, { kind: 'update' }))).toEqual({
      origin: 'me',
      change: { kind: 'update', appId: 'aaaaaa', name: 'r', version: 3, json: data },
    });
    expect(
      heard(writeAnnouncement('me', 'r', 4, { kind: 'patch', path: 'a.1', json: '"z"' })),
    ).toEqual({
      origin: 'me',
      change: { kind: 'patch', appId: 'aaaaaa', name: 'r', version: 4, path: 'a.1', json: '"z"' },
    });
    expect(heard(writeAnnouncement('me', 'r', 5, { kind: 'erase', path: 'a' }))).toEqual({
      origin: 'me',
      change: { kind: 'erase', appId: 'aaaaaa', name: 'r', version: 5, path: 'a' },
    });
    expect(heard(replaceAnnouncement('me', 'r', -1))).toEqual({
      origin: 'me',
      change: { kind: 'deleted', appId: 'aaaaaa', name: 'r' },
    });
    expect(heard(replaceAnnouncement('me', 'r', 7))).toEqual({
      origin: 'me',
      change: { kind: 'reloaded', appId: 'aaaaaa', name: 'r', version: 7, json: data },
    });
  });

  it('ignore what is not a change message', () => {
    for (const message of ['', 'no header', '{}\n', '["me","r"]\n', '["me","r",1,"q"]\n']) {
      expect(parseChange('aaaaaa', message)).toBeNull();
    }
    expect(parseChange('aaaaaa', '["me","r",1,"p"]\n')).toBeNull();
  });
});

describe('KeyedQueue', () => {
  it('runs tasks one at a time per key, in call order, at once on an idle key', async () => {
    const queue = new KeyedQueue();
    const order: string[] = [];
    let release = () => {};
    const first = queue.run('k', async () => {
      order.push('first starts');
      await new Promise<void>((resolve) => {
        release = resolve;
      });
      order.push('first ends');
    });
    const second = queue.run('k', () => {
      order.push('second');
    });
    const other = queue.run('other', () => {
      order.push('other key');
      return 1;
    });
    // An idle key's task ran synchronously and returned its value as is.
    expect(other).toBe(1);
    expect(queue.busy('k')).toBe(true);
    release();
    await Promise.all([first, second]);
    await queue.drain();
    expect(order).toEqual(['first starts', 'other key', 'first ends', 'second']);
    expect(queue.busy('k')).toBe(false);
  });
});
