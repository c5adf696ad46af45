import { LocalBus } from '../src/index.ts';
import { busContract } from './bus-contract.ts';

busContract('local', async (nodeId) => new LocalBus({ nodeId }));
