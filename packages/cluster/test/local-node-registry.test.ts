import { LocalNodeRegistry, LocalNodeTable } from '../src/index.ts';
import { nodeRegistryContract } from './node-registry-contract.ts';

nodeRegistryContract('local', () => {
  const table = new LocalNodeTable();
  return (nodeId, options) => new LocalNodeRegistry({ nodeId, table, ...options });
});
