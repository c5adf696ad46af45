import { openDatabase } from '@hubstream/db';
import { createLogger } from '@hubstream/service';
import { describe, expect, it } from 'vitest';
import { buildApp } from '../src/index.ts';

describe('control plane health', () => {
  it('is healthy but not ready when the database stops answering', async () => {
    const db = await openDatabase({ kind: 'pglite-memory' });
    const app = await buildApp({ db, logger: createLogger({ level: 'silent', name: 'test' }) });
    try {
      expect((await app.inject('/ready')).json()).toEqual({ status: 'ready' });
      await db.close();
      expect((await app.inject('/health')).statusCode).toBe(200);
      const ready = await app.inject('/ready');
      expect(ready.statusCode).toBe(503);
      expect(ready.json()).toEqual({
        error: {
          code: 'NOT_READY',
          message: 'Not ready: database did not answer.',
          details: [{ check: 'database' }],
        },
      });
      const missing = await app.inject('/no/such/route');
      expect(missing.statusCode).toBe(404);
      expect(missing.json().error.code).toBe('NOT_FOUND');
    } finally {
      await app.close();
    }
  });
});
