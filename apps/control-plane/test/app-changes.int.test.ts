import { type BusEnvelope, LocalBus } from '@hubstream/cluster';
import { recordAppChange } from '@hubstream/db';
import { createLogger } from '@hubstream/service';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AppChanges } from '../src/lib/app-changes.ts';
import { createApp, type Harness, signUp, startControlPlane } from './harness.ts';

// "App changed" goes through one place: the change and its announcement (an
// app_changes row with the config version the change left) commit together,
// and the announcements go out after the commit, from whichever control
// plane gets to them first.

const logger = createLogger({ level: 'silent', name: 'test' });

describe.each(['postgres', 'pglite'] as const)('app changes on %s', (backend) => {
  let h: Harness;
  const extra: AppChanges[] = [];
  // One control plane (and database) per backend: every test makes its own
  // account and apps and looks only at their announcements, and each leaves
  // no announcement waiting.
  beforeAll(async () => {
    h = await startControlPlane(backend);
  });
  afterEach(async () => {
    for (const changes of extra.splice(0)) await changes.close();
  });
  afterAll(async () => {
    await h?.close();
  });

  const waiting = () => h.db.prisma.appChange.count();
  const versionOf = async (id: string) =>
    (await h.db.prisma.app.findUniqueOrThrow({ where: { id }, select: { configVersion: true } }))
      .configVersion;

  it('announces a change with the version it left, and keeps nothing once published', async () => {
    const { token } = await signUp(h);
    const { id } = await createApp(h, token);
    const put = await h.call('PUT', `/v1/apps/${id}/auth`, {
      token,
      body: { open: { enabled: false } },
    });
    expect(put.status).toBe(200);
    expect(h.announced.filter((m) => m.appId === id).map((m) => m.payload)).toEqual([
      { what: 'auth', version: String(await versionOf(id)) },
    ]);
    expect(await waiting()).toBe(0);
  });

  it('announces nothing for a change that rolls back', async () => {
    const { token } = await signUp(h);
    const { id } = await createApp(h, token);
    const before = await versionOf(id);
    const changes = new AppChanges(h.db.prisma, new LocalBus({ nodeId: 'other' }), logger);
    extra.push(changes);
    await expect(
      changes.change(id, 'limits', async (tx) => {
        await tx.appLimits.create({ data: { appId: id, maxConnections: 5 } });
        throw new Error('changed my mind');
      }),
    ).rejects.toThrow('changed my mind');
    expect(await waiting()).toBe(0);
    expect(await versionOf(id)).toBe(before);
    expect(h.announced.filter((m) => m.appId === id)).toEqual([]);
  });

  it('publishes what a process left between its commit and its publish, once', async () => {
    const { token } = await signUp(h);
    const apps = [await createApp(h, token, 'a'), await createApp(h, token, 'b')];
    // A committed change whose process stopped before publishing it.
    await h.db.prisma.$transaction(async (tx) => {
      for (const app of apps) {
        await tx.appLimits.create({ data: { appId: app.id, maxConnections: 9 } });
        await recordAppChange(tx, app.id, 'limits');
      }
    });
    expect(await waiting()).toBe(2);
    // Two more control planes start at once: each announcement goes out once.
    const heard: BusEnvelope<'app.changed'>[] = [];
    const planes = ['cp1', 'cp2'].map((nodeId) => {
      const bus = new LocalBus({ nodeId });
      bus.subscribe('app.changed', (m) => heard.push(m));
      const changes = new AppChanges(h.db.prisma, bus, logger);
      extra.push(changes);
      return changes;
    });
    await Promise.all(planes.map((p) => p.flush()));
    await new Promise((resolve) => setImmediate(resolve));
    expect(await waiting()).toBe(0);
    const expected = await Promise.all(
      apps.map(async (app) => [
        app.id,
        { what: 'limits', version: String(await versionOf(app.id)) },
      ]),
    );
    // The harness's own control plane sweeps too (every 30 s): it counts as a third.
    const ids = new Set(apps.map((app) => app.id));
    const all = [...heard, ...h.announced.filter((m) => ids.has(m.appId))];
    expect(all.map((m) => [m.appId, m.payload]).sort()).toEqual(expected.sort());
  });

  it('announces a deleted app without a version', async () => {
    const { token } = await signUp(h);
    const { id } = await createApp(h, token);
    expect((await h.call('DELETE', `/v1/apps/${id}`, { token })).status).toBe(204);
    expect(h.announced.filter((m) => m.appId === id).map((m) => m.payload)).toEqual([
      { what: 'deleted' },
    ]);
    expect(await waiting()).toBe(0);
  });
});
