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

describe('redis presence registry after Redis lost its data', () => {
  it('writes the node’s own share back when its connection is ready again, and reports who came back', async () => {
    const prefix = `test:${randomBytes(4).toString('hex')}:`;
    const redis = new Redis(loadTestConfig().TEST_REDIS_URL);
    connections.push(redis);
    const a = new RedisPresenceRegistry({ redis, nodeId: 'node-a', keyPrefix: prefix });
    const b = make('node-b', prefix);
    await a.join('app', 'ann');
    await a.join('app', 'bob');
    await a.leave('app', 'bob');
    await b.join('app', 'carl');
    const wipe = async () => {
      const keys = await redis.keys(`${prefix}*`);
      if (keys.length > 0) await redis.del(...keys);
    };
    await wipe();
    expect(await a.online('app')).toEqual([]);
    expect(await a.restore()).toEqual([{ appId: 'app', user: 'ann' }]);
    expect(await a.online('app')).toEqual(['ann']);
    expect(await a.restore()).toEqual([]);

    await wipe();
    const ready = new Promise((resolve) => redis.once('ready', resolve));
    redis.disconnect(true);
    await ready;
    const deadline = Date.now() + 5000;
    while ((await a.online('app')).length === 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(await a.online('app')).toEqual(['ann']);
    // node-b's connection never dropped: its share is its own to write back.
    expect(await b.restore()).toEqual([{ appId: 'app', user: 'carl' }]);
    await a.close();
    await b.close();
  });
});
