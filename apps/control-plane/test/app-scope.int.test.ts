import { InlineJobQueue, LocalBus } from '@hubstream/cluster';
import { loadConfig } from '@hubstream/config';
import { type Database, openDatabase } from '@hubstream/db';
import { createLogger } from '@hubstream/service';
import Fastify, { type FastifyPluginAsync } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RouteContext } from '../src/context.ts';
import { AppChanges } from '../src/lib/app-changes.ts';
import { APP_ACCESS } from '../src/plugins/app-access.ts';
import { registerAppScope } from '../src/plugins/app-scope.ts';

// Every route under /v1/apps/:id goes through the app scope, which resolves
// the caller and the app and checks the access the route declares: a route
// that declares none, or that is put in the scope but lives elsewhere,
// stops the control plane from starting rather than going unchecked.

let db: Database;
let context: RouteContext;
beforeAll(async () => {
  db = await openDatabase({ kind: 'pglite-memory' });
  const logger = createLogger({ level: 'silent', name: 'test' });
  const bus = new LocalBus({ nodeId: 'test' });
  context = {
    config: loadConfig({}),
    db,
    bus,
    jobs: new InlineJobQueue([], logger),
    logger,
    appChanges: new AppChanges(db.prisma, bus, logger),
  };
});
afterAll(async () => {
  await db?.close();
});

async function start(routes: FastifyPluginAsync<RouteContext>) {
  const server = Fastify();
  await server.register(async (v1) => registerAppScope(v1, context, [routes]), { prefix: '/v1' });
  try {
    await server.ready();
  } finally {
    await server.close();
  }
}

describe('the app scope', () => {
  it('starts with routes under /v1/apps/:id that declare their access', async () => {
    await expect(
      start(async (app) => {
        for (const access of APP_ACCESS) {
          app.get(
            `/apps/:id/${access.replace(':', '-')}`,
            { config: { access } },
            async () => ({}),
          );
        }
      }),
    ).resolves.toBeUndefined();
  });

  it('refuses to start with a route that declares no access', async () => {
    await expect(
      start(async (app) => {
        app.get('/apps/:id/unchecked', async () => ({}));
      }),
    ).rejects.toThrow('GET /v1/apps/:id/unchecked does not declare its access (config.access)');
  });

  it('refuses to start with a route outside /v1/apps/:id', async () => {
    await expect(
      start(async (app) => {
        app.get('/elsewhere', { config: { access: 'app:read' } }, async () => ({}));
      }),
    ).rejects.toThrow('GET /v1/elsewhere is in the app scope but not under /v1/apps/:id');
  });
});
