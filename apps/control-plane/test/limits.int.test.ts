import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LIMIT_MAXIMA } from '../src/routes/limits/schemas.ts';
import { createApp, type Harness, signUp, startControlPlane } from './harness.ts';

// GET/PUT /v1/apps/:id/limits: an app's own limits over the platform
// defaults of the config.

let h: Harness;
let owner: { token: string };
let other: { token: string };

beforeAll(async () => {
  h = await startControlPlane('postgres', {
    env: {
      APP_MAX_CONNECTIONS: '500',
      APP_MAX_MESSAGES_PER_SECOND: '2000',
      CONNECTION_MAX_MESSAGES_PER_SECOND: '50',
      APP_MAX_CROSS_REFERENCES_PER_SECOND: '300',
      MESSAGE_MAX_NAMES: '40',
      CONNECTION_MAX_SUBSCRIPTIONS: '30',
      CONNECTION_MAX_LISTENS: '20',
      CONNECTION_MAX_PROVIDES: '10',
      CONNECTION_MAX_PENDING_RPCS: '5',
    },
  });
  owner = await signUp(h);
  other = await signUp(h);
});

afterAll(async () => {
  await h?.close();
});

const DEFAULTS = {
  maxConnections: 500,
  maxMessagesPerSecond: 2000,
  connectionMessagesPerSecond: 50,
  maxCrossReferencesPerSecond: 300,
  maxNamesPerMessage: 40,
  maxSubscriptionsPerConnection: 30,
  maxListensPerConnection: 20,
  maxProvidesPerConnection: 10,
  maxPendingRpcsPerConnection: 5,
};

describe('app limits', () => {
  it('shows the platform defaults for an app that set none', async () => {
    const { id } = await createApp(h, owner.token);
    const res = await h.call('GET', `/v1/apps/${id}/limits`, { token: owner.token });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      maxConnections: null,
      maxMessagesPerSecond: null,
      connectionMessagesPerSecond: null,
      maxCrossReferencesPerSecond: null,
      maxNamesPerMessage: null,
      maxSubscriptionsPerConnection: null,
      maxListensPerConnection: null,
      maxProvidesPerConnection: null,
      maxPendingRpcsPerConnection: null,
      effective: DEFAULTS,
      defaults: DEFAULTS,
      maxima: LIMIT_MAXIMA,
      updatedAt: null,
    });
  });

  it('sets some limits, keeps the others, resets with null, audits and announces each change', async () => {
    const { id } = await createApp(h, owner.token);
    const set = await h.call('PUT', `/v1/apps/${id}/limits`, {
      token: owner.token,
      body: { maxConnections: 3, connectionMessagesPerSecond: 7 },
    });
    expect(set.status).toBe(200);
    expect(set.body).toMatchObject({
      maxConnections: 3,
      maxMessagesPerSecond: null,
      connectionMessagesPerSecond: 7,
      maxCrossReferencesPerSecond: null,
      effective: { ...DEFAULTS, maxConnections: 3, connectionMessagesPerSecond: 7 },
      // The defaults stay in view beside the app's own values.
      defaults: DEFAULTS,
    });
    expect(typeof set.body.updatedAt).toBe('string');

    const again = await h.call('PUT', `/v1/apps/${id}/limits`, {
      token: owner.token,
      body: { maxConnections: null, maxCrossReferencesPerSecond: 1_000_000 },
    });
    expect(again.body).toMatchObject({
      maxConnections: null,
      connectionMessagesPerSecond: 7,
      maxCrossReferencesPerSecond: 1_000_000,
      effective: {
        ...DEFAULTS,
        connectionMessagesPerSecond: 7,
        maxCrossReferencesPerSecond: 1_000_000,
      },
    });
    const read = await h.call('GET', `/v1/apps/${id}/limits`, { token: owner.token });
    expect(read.body).toEqual(again.body);

    const events = await h.db.prisma.auditEvent.findMany({
      where: { appId: id, action: 'limits.updated' },
      orderBy: { createdAt: 'asc' },
    });
    expect(events.map((e) => e.details)).toEqual([
      { changes: { maxConnections: 3, connectionMessagesPerSecond: 7 } },
      { changes: { maxConnections: null, maxCrossReferencesPerSecond: 1_000_000 } },
    ]);
    // Each announcement carries the app's config version after its change.
    const announced = h.announced.filter((m) => m.appId === id).map((m) => m.payload);
    expect(announced.map((p) => p.what)).toEqual(['limits', 'limits']);
    const { configVersion } = await h.db.prisma.app.findUniqueOrThrow({
      where: { id },
      select: { configVersion: true },
    });
    expect(announced.map((p) => p.version)).toEqual([
      String(configVersion - 1n),
      String(configVersion),
    ]);
  });

  it('sets and resets the per-connection caps like the other limits', async () => {
    const { id } = await createApp(h, owner.token);
    const caps = await h.call('PUT', `/v1/apps/${id}/limits`, {
      token: owner.token,
      body: { maxSubscriptionsPerConnection: 2, maxPendingRpcsPerConnection: 1 },
    });
    expect(caps.status).toBe(200);
    expect(caps.body).toMatchObject({
      maxSubscriptionsPerConnection: 2,
      maxPendingRpcsPerConnection: 1,
      maxNamesPerMessage: null,
      effective: { ...DEFAULTS, maxSubscriptionsPerConnection: 2, maxPendingRpcsPerConnection: 1 },
    });
    const reset = await h.call('PUT', `/v1/apps/${id}/limits`, {
      token: owner.token,
      body: { maxSubscriptionsPerConnection: null, maxListensPerConnection: 0 },
    });
    expect(reset.status).toBe(400);
    const back = await h.call('PUT', `/v1/apps/${id}/limits`, {
      token: owner.token,
      body: { maxSubscriptionsPerConnection: null },
    });
    expect(back.body).toMatchObject({
      maxSubscriptionsPerConnection: null,
      effective: { ...DEFAULTS, maxPendingRpcsPerConnection: 1 },
    });
  });

  it('refuses values that are not whole numbers within the ceiling, and changes nothing', async () => {
    const { id } = await createApp(h, owner.token);
    await h.call('PUT', `/v1/apps/${id}/limits`, {
      token: owner.token,
      body: { maxMessagesPerSecond: 100 },
    });
    const before = await h.call('GET', `/v1/apps/${id}/limits`, { token: owner.token });
    const announcedBefore = h.announced.length;
    const auditBefore = await h.db.prisma.auditEvent.count({ where: { appId: id } });
    const bad: unknown[] = [
      { maxConnections: 0 },
      { maxConnections: -5 },
      { maxMessagesPerSecond: 1.5 },
      { maxMessagesPerSecond: '100' },
      { maxConnections: true },
      { maxConnections: false },
      { connectionMessagesPerSecond: 100_001 },
      { maxCrossReferencesPerSecond: 1_000_001 },
      { maxConnections: 10, somethingElse: 1 },
      [],
    ];
    for (const body of bad) {
      const res = await h.call('PUT', `/v1/apps/${id}/limits`, { token: owner.token, body });
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.error.code).toBe('VALIDATION_FAILED');
      expect(res.body.error.message.length).toBeGreaterThan(0);
    }
    const tooBig = await h.call('PUT', `/v1/apps/${id}/limits`, {
      token: owner.token,
      body: { connectionMessagesPerSecond: 100_001 },
    });
    expect(JSON.stringify(tooBig.body.error)).toContain('connectionMessagesPerSecond');
    expect(await h.call('GET', `/v1/apps/${id}/limits`, { token: owner.token })).toMatchObject({
      body: before.body,
    });
    expect(h.announced.length).toBe(announcedBefore);
    expect(await h.db.prisma.auditEvent.count({ where: { appId: id } })).toBe(auditBefore);
  });

  it("gives another account 404 on an app's limits and changes nothing", async () => {
    const { id } = await createApp(h, owner.token);
    const read = await h.call('GET', `/v1/apps/${id}/limits`, { token: other.token });
    expect(read).toMatchObject({ status: 404, body: { error: { code: 'NOT_FOUND' } } });
    const write = await h.call('PUT', `/v1/apps/${id}/limits`, {
      token: other.token,
      body: { maxConnections: 1 },
    });
    expect(write).toMatchObject({ status: 404, body: { error: { code: 'NOT_FOUND' } } });
    expect(await h.db.prisma.appLimits.findUnique({ where: { appId: id } })).toBeNull();
    expect((await h.call('GET', `/v1/apps/${id}/limits`)).status).toBe(401);
  });

  it('is in the OpenAPI document', async () => {
    const doc = (await h.call('GET', '/openapi.json')).body as {
      paths: Record<string, Record<string, unknown>>;
    };
    expect(Object.keys(doc.paths['/v1/apps/{id}/limits'] ?? {}).sort()).toEqual(['get', 'put']);
  });
});
