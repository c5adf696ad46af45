import { describe, expect, it } from 'vitest';
import {
  LocalBus,
  LocalConnectionCounter,
  LocalListenerRegistry,
  LocalPresenceRegistry,
  LocalRateLimiter,
  LocalRpcProviderRegistry,
  LocalTokenStore,
  openClusterServices,
} from '../src/index.ts';

// openClusterServices with the local choice: every registry in-process, no
// node lifecycle (nobody else to tell), and one close for all of them.

const options = (nodeId: string) => ({
  bus: new LocalBus({ nodeId }),
  logger: { warn: () => {}, error: () => {} },
  heartbeatIntervalMs: 1000,
  deadAfterMs: 5000,
  httpTokens: { ttlMs: 60_000, maxTokens: 100 },
});

describe('openClusterServices (local)', () => {
  it('gives in-process registries and no node lifecycle', async () => {
    const services = openClusterServices({ kind: 'local' }, options('alone'));
    expect(services.kind).toBe('local');
    expect(services.presence).toBeInstanceOf(LocalPresenceRegistry);
    expect(services.rpcProviders).toBeInstanceOf(LocalRpcProviderRegistry);
    expect(services.listeners).toBeInstanceOf(LocalListenerRegistry);
    expect(services.rateLimiter).toBeInstanceOf(LocalRateLimiter);
    expect(services.connectionCounts).toBeInstanceOf(LocalConnectionCounter);
    expect(services.httpTokens).toBeInstanceOf(LocalTokenStore);
    expect(services.lifecycle).toBeUndefined();
    await services.close();
  });

  it('registers under the bus node id and forgets everything on close', async () => {
    const services = openClusterServices({ kind: 'local' }, options('node-x'));
    await services.rpcProviders.register('app', 'add');
    expect(await services.rpcProviders.nodesFor('app', 'add')).toEqual(['node-x']);
    await services.listeners.addListener('app', 'event', 'c1', 'news/.*');
    expect(await services.listeners.listeners('app', 'event')).toEqual([
      { node: 'node-x', connection: 'c1', pattern: 'news/.*' },
    ]);
    expect(await services.presence.join('app', 'ann')).toBe(true);
    expect(await services.connectionCounts.acquire('app', 1)).toBe(true);
    expect(await services.connectionCounts.acquire('app', 1)).toBe(false);
    await services.close();
    // Presence and connection counts are cleared by close (nothing survives the node).
    expect(await services.presence.online('app')).toEqual([]);
    expect(await services.connectionCounts.count('app')).toBe(0);
  });
});
