import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type Database, openDatabase, type SqlSession } from '@hubstream/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DurableWrites } from '../src/durable-writes.ts';
import { LocalRecordStore, type RecordsLogger, type StoredRecord } from '../src/index.ts';
import { createTestApp, openRecordsDatabase, type RecordsDatabase } from './fixture.ts';

// Group commit of the local store's durable (acknowledged) writes
// (durable-writes.ts), on the real Postgres and on the embedded PGlite: the
// writes that arrive together commit together, each is in the database
// when its writer hears so, a batch that fails fails each of its writers
// and changes nothing, a lone write on an idle store goes out at once, and
// version conflicts stay per record.

const log: RecordsLogger = { warn() {}, error() {} };

type Stack = { db: Database; createApp(): Promise<string>; close(): Promise<void> };

async function openPglite(): Promise<Stack> {
  const db = await openDatabase({ kind: 'pglite-memory' });
  await db.migrate();
  return {
    db,
    createApp: () => createTestApp(db),
    close: () => db.close(),
  };
}

/** A session that counts the statements it runs, by prepared name. */
function counting(sql: SqlSession) {
  const names: string[] = [];
  const session: SqlSession = {
    query: (text, params, name) => {
      names.push(name ?? text.trim().split(/\s/)[0]!);
      return sql.query(text, params, name);
    },
    exec: (script) => sql.exec(script),
    transaction: (work, options) => sql.transaction(work, options),
  };
  const count = (prefix: string) => names.filter((n) => n.startsWith(prefix)).length;
  return { session, count };
}

const KINDS: Record<string, { open: () => Promise<Stack>; asyncCommit: boolean }> = {
  postgres: {
    open: async (): Promise<Stack> => {
      const stack: RecordsDatabase = await openRecordsDatabase('durable_writes');
      return stack;
    },
    asyncCommit: true,
  },
  pglite: { open: openPglite, asyncCommit: false },
};

for (const [kind, { open, asyncCommit }] of Object.entries(KINDS)) {
  describe(`durable writes commit in groups: ${kind}`, () => {
    let stack: Stack;
    beforeAll(async () => {
      stack = await open();
    }, 60_000);
    afterAll(async () => {
      await stack?.close();
    });

    const stored = async (appId: string, name: string): Promise<StoredRecord | null> => {
      const [row] = await stack.db.sql.query<{ version: number; data: unknown }>(
        'SELECT version, data FROM records WHERE app_id = $1 AND name = $2',
        [appId, name],
      );
      return row ? { version: row.version, data: row.data } : null;
    };

    it('every acknowledged write to many records is in the database when it resolves', async () => {
      const appId = await stack.createApp();
      const { session, count } = counting(stack.db.sql);
      const store = new LocalRecordStore(session, log, { asyncCommit, flushDelayMs: 60_000 });
      const RECORDS = 150;
      const VERSIONS = 3;
      // Read back right after each acknowledgement, before any later write.
      const checks: Promise<boolean>[] = [];
      const writer = async (i: number) => {
        for (let version = 1; version <= VERSIONS; version++) {
          const result = await store.set(
            appId,
            `r/${i}`,
            version - 1 === 0 ? -1 : version - 1,
            { version, data: { i, version } },
            { durable: true },
          );
          expect(result).toEqual({ ok: true });
          checks.push(stored(appId, `r/${i}`).then((row) => (row?.version ?? -1) >= version));
        }
      };
      await Promise.all(Array.from({ length: RECORDS }, (_, i) => writer(i)));
      const seen = await Promise.all(checks);
      expect(seen).toHaveLength(RECORDS * VERSIONS);
      expect(seen.filter((ok) => !ok)).toEqual([]);
      for (let i = 0; i < RECORDS; i++) {
        expect(await stored(appId, `r/${i}`)).toEqual({
          version: VERSIONS,
          data: { i, version: VERSIONS },
        });
      }
      // Together: far fewer statements than writes, nothing left for the flusher.
      const statements = count('hs_record_upsert');
      expect(statements).toBeGreaterThan(0);
      expect(statements).toBeLessThan((RECORDS * VERSIONS) / 10);
      expect(store.pendingCount).toBe(0);
      await store.close();
    });

    it('an acknowledgement means this write is stored: each check sees its own version', async () => {
      const appId = await stack.createApp();
      const store = new LocalRecordStore(stack.db.sql, log, { asyncCommit, flushDelayMs: 60_000 });
      const acked = await Promise.all(
        Array.from({ length: 40 }, (_, i) =>
          store
            .set(appId, `own/${i}`, -1, { version: 1, data: { i } }, { durable: true })
            .then(() => stored(appId, `own/${i}`)),
        ),
      );
      expect(acked).toEqual(acked.map((_, i) => ({ version: 1, data: { i } })));
      await store.close();
    });

    it('a batch that fails fails every writer in it and changes nothing', async () => {
      const appId = await stack.createApp();
      const { session, count } = counting(stack.db.sql);
      const store = new LocalRecordStore(session, log, { asyncCommit, flushDelayMs: 60_000 });
      const names = Array.from({ length: 20 }, (_, i) => `f/${i}`);
      for (const name of names) {
        await store.set(appId, name, -1, { version: 1, data: { ok: 1 } }, { durable: true });
      }
      // The database refuses this app's writes as a whole (not their data).
      const trigger = `hs_refuse_${appId}`;
      await stack.db.sql.exec(`
        CREATE FUNCTION ${trigger}() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF NEW.app_id = '${appId}' THEN RAISE EXCEPTION 'refused' USING ERRCODE = 'P0001'; END IF;
          RETURN NEW;
        END $$;
        CREATE TRIGGER ${trigger} BEFORE INSERT OR UPDATE ON records
          FOR EACH ROW EXECUTE FUNCTION ${trigger}();`);
      try {
        const batchesBefore = count('hs_record_upsert_batch');
        const outcomes = await Promise.allSettled(
          names.map((name) =>
            store.set(appId, name, 1, { version: 2, data: { ok: 2 } }, { durable: true }),
          ),
        );
        expect(outcomes.map((o) => o.status)).toEqual(names.map(() => 'rejected'));
        expect(count('hs_record_upsert_batch') - batchesBefore).toBe(1);
        for (const name of names) {
          expect(store.peek(appId, name)).toEqual({ version: 1, data: { ok: 1 } });
          expect(await stored(appId, name)).toEqual({ version: 1, data: { ok: 1 } });
        }
      } finally {
        await stack.db.sql.exec(`DROP TRIGGER ${trigger} ON records; DROP FUNCTION ${trigger}();`);
      }
      // The records take writes again on the version they kept.
      await expect(
        store.set(appId, 'f/0', 1, { version: 2, data: { ok: 2 } }, { durable: true }),
      ).resolves.toEqual({ ok: true });
      expect(await stored(appId, 'f/0')).toEqual({ version: 2, data: { ok: 2 } });
      await store.close();
    });

    it('a row the database refuses fails its own writer only', async () => {
      const appId = await stack.createApp();
      const store = new LocalRecordStore(stack.db.sql, log, { asyncCommit, flushDelayMs: 60_000 });
      const good = Array.from({ length: 10 }, (_, i) =>
        store.set(appId, `g/${i}`, -1, { version: 1, data: { i } }, { durable: true }),
      );
      // Past a Postgres int: the batch's one statement fails on it.
      const poison = store.set(
        appId,
        'poison',
        -1,
        { version: 2 ** 31, data: {} },
        { durable: true },
      );
      const [goods, poisoned] = await Promise.allSettled([Promise.all(good), poison]);
      expect(goods).toEqual({ status: 'fulfilled', value: good.map(() => ({ ok: true })) });
      expect(poisoned).toMatchObject({ status: 'rejected', reason: { code: '22003' } });
      for (let i = 0; i < 10; i++)
        expect(await stored(appId, `g/${i}`)).toEqual({ version: 1, data: { i } });
      expect(await stored(appId, 'poison')).toBeNull();
      expect(store.peek(appId, 'poison')).toBeNull();
      await store.close();
    });

    it('commits up to `concurrency` batches at once, each write in one of them', async () => {
      const appId = await stack.createApp();
      const inFlight = { now: 0, most: 0, batches: 0 };
      // Each statement is held a little, so that the next waves find it in flight.
      const slow: SqlSession = {
        ...stack.db.sql,
        query: async (text, params, name) => {
          inFlight.now++;
          inFlight.batches++;
          inFlight.most = Math.max(inFlight.most, inFlight.now);
          try {
            await new Promise((resolve) => setTimeout(resolve, 50));
            return await stack.db.sql.query(text, params, name);
          } finally {
            inFlight.now--;
          }
        },
      };
      for (const concurrency of [1, 3]) {
        Object.assign(inFlight, { now: 0, most: 0, batches: 0 });
        const writes = new DurableWrites(slow, { asyncCommit, concurrency });
        const acked: Promise<void>[] = [];
        // Six waves of five records, one turn of the event loop apart.
        for (let wave = 0; wave < 6; wave++) {
          for (let i = 0; i < 5; i++) {
            const name = `k${concurrency}/${wave}/${i}`;
            acked.push(writes.write({ appId, name, version: 1, json: `{"wave":${wave}}` }));
          }
          await new Promise((resolve) => setImmediate(resolve));
        }
        await Promise.all(acked);
        expect(inFlight.most).toBe(concurrency);
        expect(inFlight.batches).toBeLessThan(6);
        for (let wave = 0; wave < 6; wave++) {
          for (let i = 0; i < 5; i++) {
            expect(await stored(appId, `k${concurrency}/${wave}/${i}`)).toEqual({
              version: 1,
              data: { wave },
            });
          }
        }
      }
    });

    it('a write that finds nothing committing goes out at once; the writes after it gather', async () => {
      const appId = await stack.createApp();
      const { session, count } = counting(stack.db.sql);
      const writes = new DurableWrites(session, { asyncCommit });
      const row = (name: string) => ({ appId, name, version: 1, json: '{"n":1}' });
      const first = writes.write(row('alone'));
      // Sent in this turn, before any turn of the event loop or microtask.
      expect(count('hs_record_upsert')).toBe(1);
      // The same turn's next writes wait for the turn and go out together.
      const rest = ['a', 'b', 'c', 'd'].map((name) => writes.write(row(`after/${name}`)));
      expect(count('hs_record_upsert')).toBe(1);
      await Promise.all([first, ...rest]);
      expect(count('hs_record_upsert_batch')).toBe(1);
      expect(count('hs_record_upsert')).toBe(2);
      for (const name of ['alone', 'after/a', 'after/d']) {
        expect(await stored(appId, name)).toEqual({ version: 1, data: { n: 1 } });
      }
    });

    it('version conflicts stay per record', async () => {
      const appId = await stack.createApp();
      const store = new LocalRecordStore(stack.db.sql, log, { asyncCommit, flushDelayMs: 60_000 });
      for (let i = 0; i < 10; i++) {
        await store.set(
          appId,
          `c/${i}`,
          -1,
          { version: 1, data: { by: 'first' } },
          { durable: true },
        );
      }
      // Even records: three writers race on version 1. Odd ones: one writer on a stale version.
      const results = await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          i % 2 === 0
            ? Promise.all(
                ['a', 'b', 'c'].map((by) =>
                  store.set(appId, `c/${i}`, 1, { version: 2, data: { by } }, { durable: true }),
                ),
              )
            : store
                .set(appId, `c/${i}`, 0, { version: 1, data: { by: 'stale' } }, { durable: true })
                .then((r) => [r]),
        ),
      );
      for (let i = 0; i < 10; i++) {
        const outcomes = results[i]!;
        if (i % 2 === 0) {
          expect(outcomes.filter((r) => r.ok)).toHaveLength(1);
          const winner = ['a', 'b', 'c'][outcomes.findIndex((r) => r.ok)];
          expect(await stored(appId, `c/${i}`)).toEqual({ version: 2, data: { by: winner } });
          for (const lost of outcomes.filter((r) => !r.ok)) {
            expect(lost).toEqual({ ok: false, current: { version: 2, data: { by: winner } } });
          }
        } else {
          expect(outcomes).toEqual([{ ok: false, current: { version: 1, data: { by: 'first' } } }]);
          expect(await stored(appId, `c/${i}`)).toEqual({ version: 1, data: { by: 'first' } });
        }
      }
      await store.close();
    });
  });
}

describe('durable writes on a PGlite data directory', () => {
  it('an acknowledged write is in the files at once: a copy taken then, as a crash leaves them, has it', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'hs-durable-'));
    const copy = `${dir}-copy`;
    const db = await openDatabase({ kind: 'pglite', dataDir: dir }, { warmUp: false });
    try {
      await db.migrate();
      const appId = await createTestApp(db);
      const store = new LocalRecordStore(db.sql, log, { asyncCommit: false, flushDelayMs: 60_000 });
      for (let version = 1; version <= 3; version++) {
        await store.set(
          appId,
          'kept',
          version === 1 ? -1 : version - 1,
          { version, data: { version } },
          { durable: true },
        );
      }
      // The files as they are now, the database still open (this process' lock left out).
      await cp(dir, copy, { recursive: true, filter: (file) => !file.endsWith('hubstream.pid') });
      const reopened = await openDatabase({ kind: 'pglite', dataDir: copy }, { warmUp: false });
      try {
        const rows = await reopened.sql.query<{ version: number; data: unknown }>(
          'SELECT version, data FROM records WHERE app_id = $1 AND name = $2',
          [appId, 'kept'],
        );
        expect(rows).toEqual([{ version: 3, data: { version: 3 } }]);
      } finally {
        await reopened.close();
      }
      await store.close();
    } finally {
      await db.close();
      await rm(dir, { recursive: true, force: true });
      await rm(copy, { recursive: true, force: true });
    }
  }, 60_000);
});
