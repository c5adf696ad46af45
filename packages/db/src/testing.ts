import { randomBytes } from 'node:crypto';
import { loadTestConfig } from '@hubstream/config';
import pg from 'pg';

// Integration tests each get a database of their own on the test server, so
// they never see each other's rows and can run in parallel.

export type TestDatabase = { url: string; name: string; drop(): Promise<void> };

export async function createTestDatabase(label = 'test'): Promise<TestDatabase> {
  const adminUrl = loadTestConfig().TEST_DATABASE_URL;
  const name = `hs_${label.replace(/[^a-z0-9]/gi, '_').toLowerCase()}_${randomBytes(5).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE "${name}"`);
  } finally {
    await admin.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    async drop() {
      const client = new pg.Client({ connectionString: adminUrl });
      await client.connect();
      try {
        await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      } finally {
        await client.end();
      }
    },
  };
}
