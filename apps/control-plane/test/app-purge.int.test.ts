import { JOB_CONTRACTS, jobHandler, PURGE_APP_JOB } from '@hubstream/jobs';
import { afterEach, describe, expect, it } from 'vitest';
import { createApp, type Harness, signUp, startControlPlane } from './harness.ts';

// Deleting an app queues the purge of what it left in Redis; the deletion
// stands even when the purge cannot be queued.

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe('DELETE /v1/apps/:id', () => {
  it('queues purge-app for the deleted app', async () => {
    const queued: { name: string; payload: unknown }[] = [];
    h = await startControlPlane('postgres', {
      // Every job's contract (the worker's payload checks), recording instead of running.
      jobs: JOB_CONTRACTS.map((contract) =>
        jobHandler(contract, async (payload) => {
          queued.push({ name: contract.name, payload });
        }),
      ),
    });
    const { token } = await signUp(h);
    const app = await createApp(h, token);
    expect((await h.call('DELETE', `/v1/apps/${app.id}`, { token })).status).toBe(204);
    await h.close(); // runs what was queued
    h = undefined;
    expect(queued.filter((job) => job.name === PURGE_APP_JOB)).toEqual([
      { name: PURGE_APP_JOB, payload: { appId: app.id } },
    ]);
  });

  it('still deletes the app when the purge cannot be queued', async () => {
    h = await startControlPlane('postgres', { jobs: [] });
    const { token } = await signUp(h);
    const app = await createApp(h, token);
    expect((await h.call('DELETE', `/v1/apps/${app.id}`, { token })).status).toBe(204);
    expect((await h.call('GET', `/v1/apps/${app.id}`, { token })).status).toBe(404);
    expect(h.announced.map((m) => [m.appId, m.payload])).toContainEqual([
      app.id,
      { what: 'deleted' },
    ]);
  });
});
