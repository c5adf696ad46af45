import { randomBytes } from 'node:crypto';
import { loadTestConfig } from '@hubstream/config';
import { BullMqJobQueue } from '../src/index.ts';
import { jobQueueContract } from './jobs-contract.ts';

jobQueueContract('bullmq', async (definitions, logger) => {
  const queue = new BullMqJobQueue({
    url: loadTestConfig().TEST_REDIS_URL,
    definitions,
    logger,
    process: true,
    prefix: `test:${randomBytes(4).toString('hex')}`,
  });
  await queue.ready();
  return queue;
});
