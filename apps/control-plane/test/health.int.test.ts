import { describe, expect, it } from 'vitest';
import { startControlPlane } from './harness.ts';

describe('control plane health', () => {
  it('is healthy but not ready when the database stops answering', async () => {
    const h = await startControlPlane('pglite');
    try {
      expect(await h.call('GET', '/ready')).toMatchObject({
        status: 200,
        body: { status: 'ready' },
      });
      await h.db.close();
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
      await h.app.close();
    }
  });
});
