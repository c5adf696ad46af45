import { describe, expect, it } from 'vitest';
import { startControlPlane } from './harness.ts';

describe('control plane health', () => {
  it('is healthy but not ready when the database stops answering', async () => {
    // The database goes away under the running process, as when Postgres
    // restarts or is unreachable: its connections end and new ones fail.
    // (Closing an in-process PGlite under running queries is not that: it
    // can leave PGlite's own promises rejecting unhandled.)
    const h = await startControlPlane('postgres');
    try {
      expect(await h.call('GET', '/ready')).toMatchObject({
        status: 200,
        body: { status: 'ready' },
      });
      await h.testDb?.drop();
      expect((await h.call('GET', '/health')).status).toBe(200);
      const ready = await h.call('GET', '/ready');
      expect(ready.status).toBe(503);
      expect(ready.body).toEqual({
        error: {
          code: 'NOT_READY',
          message: 'Not ready: database did not answer.',
          details: [{ check: 'database' }],
        },
      });
      const missing = await h.call('GET', '/no/such/route');
      expect(missing.status).toBe(404);
      expect(missing.body.error.code).toBe('NOT_FOUND');
    } finally {
      await h.close();
    }
  });
});
