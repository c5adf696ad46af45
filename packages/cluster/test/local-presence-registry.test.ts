import { LocalPresenceRegistry } from '../src/index.ts';
import { presenceRegistryContract } from './presence-registry-contract.ts';

presenceRegistryContract('local', async () => new LocalPresenceRegistry());
