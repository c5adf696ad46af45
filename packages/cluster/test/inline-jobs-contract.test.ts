import { InlineJobQueue } from '../src/index.ts';
import { jobQueueContract } from './jobs-contract.ts';

jobQueueContract('inline', async (definitions, logger) => new InlineJobQueue(definitions, logger));
