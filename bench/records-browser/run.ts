import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { loadavg } from 'node:os';
import { loadTestConfig } from '@hubstream/config';
import { prefixEnd } from '@hubstream/control-plane';
import type PgModule from 'pg';

// The data browser's list query (apps/control-plane/src/routes/records) on a
// big app, against the same rows under the two collations a records.name
// column can have: "C" (migration 20261206150000), where the names with a
// prefix are one range of the primary key, and a language collation (ICU
// en-US, like the official image's en_US.utf8) where a correct prefix match
// is a LIKE that the primary key cannot serve. Prints median and p90 ms per
// query. Usage: pnpm bench:records-browser [--records=1000000] [--runs=25]
// (on TEST_DATABASE_URL's server, as the tests).

const fromDb = createRequire(new URL('../../packages/db/package.json', import.meta.url));
const pg = fromDb('pg') as typeof PgModule;

const arg = (name: string, fallback: number) => {
  const given = process.argv.find((a) => a.startsWith(`--${name}=`));
  const value = given ? Number(given.split('=')[1]) : fallback;
  if (!Number.isInteger(value) || value < 1) throw new Error(`--${name} must be a whole number`);
  return value;
};
const RECORDS = arg('records', 1_000_000);
const RUNS = arg('runs', 25);
const adminUrl = loadTestConfig().TEST_DATABASE_URL;
const name = `hs_bench_browse_${randomBytes(4).toString('hex')}`;

const admin = new pg.Client({ connectionString: adminUrl });
await admin.connect();
let collation = 'ICU en-US';
try {
  await admin.query(
    `CREATE DATABASE "${name}" TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C.UTF-8'`,
  );
} catch {
  collation = 'the server default';
  await admin.query(`CREATE DATABASE "${name}"`);
}
const url = new URL(adminUrl);
url.pathname = `/${name}`;
const db = new pg.Client({ connectionString: url.toString() });
await db.connect();

try {
  for (const [table, collate] of [
    ['records_c', 'COLLATE "C"'],
    ['records_lang', ''],
  ] as const) {
    await db.query(`CREATE TABLE ${table} (
      app_id TEXT NOT NULL, name TEXT ${collate} NOT NULL, version INTEGER NOT NULL,
      data JSONB NOT NULL, updated_at TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
      PRIMARY KEY (app_id, name))`);
    // The big app: users, rooms with messages, and one small family of names
    // ("zeta/") that sorts last; a tenth as many records in two other apps.
    await db.query(
      `INSERT INTO ${table} (app_id, name, version, data)
       SELECT 'big', CASE i % 3 WHEN 0 THEN 'users/' || md5(i::text)
                               WHEN 1 THEN 'rooms/' || (i % 1000) || '/msg/' || i
                               ELSE 'items-' || md5(i::text) END,
              1 + i % 7, jsonb_build_object('i', i)
       FROM generate_series(1, $1) i`,
      [RECORDS],
    );
    await db.query(
      `INSERT INTO ${table} (app_id, name, version, data)
       SELECT 'big', 'zeta/' || i, 1, '{}' FROM generate_series(1, 20) i`,
    );
    await db.query(
      `INSERT INTO ${table} (app_id, name, version, data)
       SELECT 'other' || (i % 2), 'users/' || md5(i::text), 1, '{}'
       FROM generate_series(1, $1) i`,
      [Math.ceil(RECORDS / 10)],
    );
    await db.query(`ANALYZE ${table}`);
  }
  const middle = (
    await db.query<{ name: string }>(
      `SELECT name FROM records_c WHERE app_id = 'big' ORDER BY name OFFSET $1 LIMIT 1`,
      [Math.floor(RECORDS / 2)],
    )
  ).rows[0]!.name;

  type Query = { what: string; prefix: string; after: string | null };
  const queries: Query[] = [
    { what: 'first page', prefix: '', after: null },
    { what: 'a page from the middle (after=)', prefix: '', after: middle },
    { what: 'prefix "users/" (a third of the app)', prefix: 'users/', after: null },
    { what: 'prefix "rooms/7/" (0.1 %)', prefix: 'rooms/7/', after: null },
    { what: 'prefix "zeta/" (20 names, last)', prefix: 'zeta/', after: null },
    { what: 'prefix "nothing/" (no name)', prefix: 'nothing/', after: null },
  ];
  // The route's SQL (C) and the correct prefix match a language collation allows (LIKE).
  const sqlFor = (table: string, q: Query, range: boolean) => {
    const params: unknown[] = ['big'];
    const where = ['app_id = $1'];
    if (q.prefix) {
      if (range) {
        params.push(q.prefix);
        where.push(`name >= $${params.length}`);
        const end = prefixEnd(q.prefix);
        if (end !== null) {
          params.push(end);
          where.push(`name < $${params.length}`);
        }
      } else {
        params.push(`${q.prefix.replace(/[\\%_]/g, '\\$&')}%`);
        where.push(`name LIKE $${params.length}`);
      }
    }
    if (q.after !== null) {
      params.push(q.after);
      where.push(`name > $${params.length}`);
    }
    return {
      text: `SELECT name, version, updated_at, jsonb_typeof(data) = 'array' AS is_list FROM ${table}
             WHERE ${where.join(' AND ')} ORDER BY name LIMIT 51`,
      params,
    };
  };
  const time = async (text: string, params: unknown[]) => {
    const ms: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const started = performance.now();
      await db.query(text, params);
      ms.push(performance.now() - started);
    }
    ms.sort((a, b) => a - b);
    const at = (p: number) => ms[Math.min(ms.length - 1, Math.floor(p * ms.length))]!;
    return `${at(0.5).toFixed(2)} / ${at(0.9).toFixed(2)}`;
  };

  const rows: string[][] = [];
  for (const q of queries) {
    const c = sqlFor('records_c', q, true);
    const lang = sqlFor('records_lang', q, false);
    rows.push([q.what, await time(c.text, c.params), await time(lang.text, lang.params)]);
  }
  const load = loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');
  console.log(
    `\nThe data browser's list, app "big" with ${RECORDS.toLocaleString('en')} records (+${Math.ceil(RECORDS / 10).toLocaleString('en')} in two other apps), LIMIT 51, ${RUNS} runs each; database collation ${collation}; load average ${load}\n`,
  );
  const header = [
    'query',
    'name COLLATE "C", range: median / p90 ms',
    `${collation}, LIKE: median / p90 ms`,
  ];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  console.log(line(header));
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const row of rows) console.log(line(row));
} finally {
  await db.end();
  await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  await admin.end();
}
