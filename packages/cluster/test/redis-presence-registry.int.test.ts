import { randomBytes } from 'node:crypto';
import { loadTestConfig } from '@hubstream/config';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { RedisPresenceRegistry } from '../src/index.ts';
import { presenceRegistryContract } from './presence-registry-contract.ts';

const connections: Redis[] = [];
const make = (nodeId: string, keyPrefix: string) => {
  const redis = new Redis(loadTestConfig().TEST_REDIS_URL);
  connections.push(redis);
  return new RedisPresenceRegistry({ redis, nodeId, keyPrefix });
};
afterAll(async () => {
  await Promise.all(connections.map((c) => c.quit()));
});

presenceRegistryContract('redis', async () =>
  make('n1', `test:${randomBytes(4).toString('hex')}:`),
);

describe('redis presence registry across nodes', () => {
  it('counts a user online until the last node lets go, and takes back a dead node’s share', async () => {
    const prefix = `test:${randomBytes(4).toString('hex')}:`;
    const a = make('node-a', prefix);
    const b = make('node-b', prefix);
    expect(await a.join('app', 'ann')).toBe(true);
    expect(await b.join('app', 'ann')).toBe(false);
    expect(await b.join('app', 'bob')).toBe(true);
    expect(await a.leave('app', 'ann')).toBe(false);
    expect(await a.online('app')).toEqual(expect.arrayContaining(['ann', 'bob']));
    // node-b dies: whoever cleans up learns who went offline with it.
    expect((await a.removeNode('node-b')).sort((x, y) => x.user.localeCompare(y.user))).toEqual([
      { appId: 'app', user: 'ann' },
      { appId: 'app', user: 'bob' },
    ]);
    expect(await a.online('app')).toEqual([]);
    expect(await a.removeNode('node-b')).toEqual([]);
  });
});
