import { InlineJobQueue, LocalBus } from '@hubstream/cluster';
import { loadConfig } from '@hubstream/config';
import { buildApp as buildControlPlane } from '@hubstream/control-plane';
import { type Database, openDatabase } from '@hubstream/db';
import { createTestDatabase, type TestDatabase } from '@hubstream/db/testing';
import { buildApp as buildRealtime } from '@hubstream/realtime';
import { createLogger } from '@hubstream/service';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// X-Forwarded-For, -Proto and -Host count only when the connection comes
// from an address in TRUSTED_PROXIES; from anyone else they are ignored.
// The servers are the real control plane and realtime node on real
// sockets, each with one extra route that shows what it believes.

const logger = createLogger({ level: 'silent', name: 'proxy-test' });
const FORWARDED = {
  'x-forwarded-for': '203.0.113.9',
  'x-forwarded-proto': 'https',
  'x-forwarded-host': 'hub.example.com',
};

let testDb: TestDatabase;
let db: Database;
const servers: FastifyInstance[] = [];

beforeAll(async () => {
  testDb = await createTestDatabase('proxy');
  db = await openDatabase({ kind: 'postgres', url: testDb.url, poolSize: 4 });
  await db.migrate();
});
afterAll(async () => {
  await Promise.allSettled(servers.map((server) => server.close()));
  await db?.close();
  await testDb?.drop();
});

type Seen = { ip: string; protocol: string; host: string };

async function serve(kind: 'control plane' | 'realtime node', env: Record<string, string>) {
  const config = loadConfig(env);
  const bus = new LocalBus({ nodeId: `proxy-${servers.length}` });
  const jobs = new InlineJobQueue([], logger);
  const app =
    kind === 'control plane'
      ? await buildControlPlane({ config, db, bus, jobs, logger })
      : await buildRealtime({ config, db, bus, jobs, logger, cluster: { kind: 'local' } });
  app.get('/test/seen', async (request) => ({
    ip: request.ip,
    protocol: request.protocol,
    host: request.host,
  }));
  await app.listen({ host: '127.0.0.1', port: 0 });
  servers.push(app);
  const address = app.server.address();
  if (address === null || typeof address === 'string') throw new Error('not listening');
  return async (headers: Record<string, string> = FORWARDED): Promise<Seen> => {
    const response = await fetch(`http://127.0.0.1:${address.port}/test/seen`, { headers });
    return (await response.json()) as Seen;
  };
}

describe('X-Forwarded-* headers', () => {
  for (const kind of ['control plane', 'realtime node'] as const) {
    it(`are honoured by the ${kind} from a trusted proxy`, async () => {
      const seen = await serve(kind, { TRUSTED_PROXIES: '10.0.0.0/8, 127.0.0.1' });
      expect(await seen()).toEqual({
        ip: '203.0.113.9',
        protocol: 'https',
        host: 'hub.example.com',
      });
      // Without the headers, the connection's own address.
      expect((await seen({})).ip).toBe('127.0.0.1');
    });

    it(`are ignored by the ${kind} from an address not in TRUSTED_PROXIES`, async () => {
      const seen = await serve(kind, { TRUSTED_PROXIES: '10.0.0.0/8' });
      expect(await seen()).toMatchObject({ ip: '127.0.0.1', protocol: 'http' });
    });

    it(`are ignored by the ${kind} when TRUSTED_PROXIES is unset`, async () => {
      const seen = await serve(kind, {});
      const result = await seen();
      expect(result.ip).toBe('127.0.0.1');
      expect(result.protocol).toBe('http');
      expect(result.host).not.toBe('hub.example.com');
    });
  }
});
