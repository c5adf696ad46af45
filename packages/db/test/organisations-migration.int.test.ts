import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { applyMigrations, pgSession, readMigrations } from '../src/index.ts';
import { createTestDatabase, type TestDatabase } from '../src/testing.ts';

// Migration 20261206170000_organisations on a database that has accounts
// and apps already: each account becomes a one-person organisation it owns,
// its apps move there; and an app inserted later without an organisation
// lands in its account's own.

const MIGRATION = '20261206170000_organisations';

let testDb: TestDatabase;
let client: pg.Client;

beforeEach(async () => {
  testDb = await createTestDatabase('orgs_migration');
  client = new pg.Client({ connectionString: testDb.url });
  await client.connect();
});

afterEach(async () => {
  await client.end();
  await testDb.drop();
});

async function insertAccount(email: string) {
  const { rows } = await client.query<{ id: string }>(
    `INSERT INTO accounts (id, email, password_hash, updated_at)
     VALUES (gen_random_uuid(), $1, 'x', now()) RETURNING id`,
    [email],
  );
  return rows[0]!.id;
}

describe('organisations migration', () => {
  it('makes each existing account a one-person organisation that owns its apps', async () => {
    const migrations = await readMigrations();
    const at = migrations.findIndex((m) => m.name === MIGRATION);
    expect(at).toBeGreaterThan(0);
    await applyMigrations(pgSession(client), migrations.slice(0, at));

    const ada = await insertAccount('ada@example.com');
    const bob = await insertAccount('bob@example.com');
    for (const [id, account] of [
      ['app_ada_1', ada],
      ['app_ada_2', ada],
      ['app_bob_1', bob],
    ]) {
      await client.query(
        `INSERT INTO apps (id, account_id, name, updated_at) VALUES ($1, $2, 'app', now())`,
        [id, account],
      );
    }
    const lonely = await insertAccount('carol@example.com');

    await applyMigrations(pgSession(client), migrations);

    const { rows: orgs } = await client.query<{ id: string; name: string; personal: string }>(
      'SELECT id, name, personal_account_id AS personal FROM organisations ORDER BY name',
    );
    expect(orgs.map((o) => [o.name, o.personal])).toEqual([
      ['ada@example.com', ada],
      ['bob@example.com', bob],
      ['carol@example.com', lonely],
    ]);
    const { rows: members } = await client.query(
      'SELECT organisation_id, account_id, role FROM memberships ORDER BY account_id',
    );
    expect(members).toHaveLength(3);
    for (const org of orgs) {
      expect(members).toContainEqual({
        organisation_id: org.id,
        account_id: org.personal,
        role: 'owner',
      });
    }
    const { rows: apps } = await client.query<{ id: string; organisation_id: string }>(
      'SELECT id, organisation_id FROM apps ORDER BY id',
    );
    const orgOf = (account: string) => orgs.find((o) => o.personal === account)!.id;
    expect(apps).toEqual([
      { id: 'app_ada_1', organisation_id: orgOf(ada) },
      { id: 'app_ada_2', organisation_id: orgOf(ada) },
      { id: 'app_bob_1', organisation_id: orgOf(bob) },
    ]);

    // Later: an app inserted by account alone goes to that account's own
    // organisation, made on the spot for an account that has none.
    await client.query(
      `INSERT INTO apps (id, account_id, name, updated_at) VALUES ('app_ada_3', $1, 'app', now())`,
      [ada],
    );
    const dave = await insertAccount('dave@example.com');
    await client.query(
      `INSERT INTO apps (id, account_id, name, updated_at) VALUES ('app_dave', $1, 'app', now())`,
      [dave],
    );
    const { rows: later } = await client.query<{ id: string; organisation_id: string }>(
      `SELECT id, organisation_id FROM apps WHERE id IN ('app_ada_3', 'app_dave') ORDER BY id`,
    );
    expect(later[0]!.organisation_id).toBe(orgOf(ada));
    const { rows: daves } = await client.query(
      `SELECT o.id, m.role FROM organisations o JOIN memberships m ON m.organisation_id = o.id
       WHERE o.personal_account_id = $1`,
      [dave],
    );
    expect(daves).toEqual([{ id: later[1]!.organisation_id, role: 'owner' }]);

    // One owner per organisation.
    await expect(
      client.query(
        `INSERT INTO memberships (organisation_id, account_id, role, updated_at) VALUES ($1, $2, 'owner', now())`,
        [orgOf(ada), bob],
      ),
    ).rejects.toThrow(/memberships_one_owner/);
    // Deleting an account keeps the apps it made in an organisation (the
    // organisation owns them) and deleting the organisation deletes them.
    await client.query(
      `INSERT INTO memberships (organisation_id, account_id, role, updated_at) VALUES ($1, $2, 'admin', now())`,
      [orgOf(ada), bob],
    );
    await client.query(
      `INSERT INTO apps (id, organisation_id, account_id, name, updated_at) VALUES ('app_by_bob', $1, $2, 'app', now())`,
      [orgOf(ada), bob],
    );
    await client.query('DELETE FROM accounts WHERE id = $1', [bob]);
    const { rows: kept } = await client.query(
      `SELECT account_id FROM apps WHERE id = 'app_by_bob'`,
    );
    expect(kept).toEqual([{ account_id: null }]);
    await client.query('DELETE FROM organisations WHERE id = $1', [orgOf(ada)]);
    const { rows: left } = await client.query<{ id: string }>('SELECT id FROM apps ORDER BY id');
    // (Bob's own organisation outlives a bare DELETE of his row; the
    // control plane's account deletion deletes the organisations it owns.)
    expect(left.map((a) => a.id)).toEqual(['app_bob_1', 'app_dave']);
  });
});
