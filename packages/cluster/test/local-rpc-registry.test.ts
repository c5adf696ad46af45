import { LocalRpcProviderRegistry } from '../src/index.ts';
import { rpcRegistryContract } from './rpc-registry-contract.ts';

rpcRegistryContract('local', async (nodeIds) => {
  let first: LocalRpcProviderRegistry | undefined;
  return nodeIds.map((nodeId) => {
    const registry = new LocalRpcProviderRegistry({
      nodeId,
      ...(first ? { sharedWith: first } : {}),
    });
    first ??= registry;
    return registry;
  });
});
