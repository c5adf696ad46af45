import { LocalListenerRegistry, LocalListenerState } from '../src/index.ts';
import { listenerRegistryContract } from './listener-registry-contract.ts';

listenerRegistryContract('local', async () => {
  const state = new LocalListenerState();
  return {
    a: new LocalListenerRegistry({ nodeId: 'node-a', state }),
    b: new LocalListenerRegistry({ nodeId: 'node-b', state }),
  };
});
