import { randomBytes } from 'node:crypto';
import { loadTestConfig } from '@hubstream/config';
import { describe, expect, it } from 'vitest';
import { BullMqJobQueue } from '../src/index.ts';
import { bullMqLoaded } from '../src/redis-modules.ts';

// An enqueue-only queue (a realtime node's) loads BullMQ when asked to
// prepare, once the node listens, not when it is made (the node's start)
// nor at its first job (in the middle of its clients' traffic).

const silent = { warn() {}, error() {} };

describe('BullMqJobQueue.prepare', () => {
  it('loads BullMQ and readies the queue of a queue that only enqueues', async () => {
    const queue = new BullMqJobQueue({
      url: loadTestConfig().TEST_REDIS_URL,
      definitions: [],
      logger: silent,
      process: false,
      prefix: `test:${randomBytes(4).toString('hex')}`,
    });
    try {
      await queue.ready();
      // Made and connected: BullMQ is not loaded yet (this file's own process).
      expect(bullMqLoaded()).toBe(false);
      await queue.prepare();
      expect(bullMqLoaded()).toBe(true);
    } finally {
      await queue.close();
    }
  });
});
