import type { DeepstreamClient } from '@deepstream/client';
import { until } from '@hubstream/testing';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALLOW_ALL, type Stack, startStack } from './harness.ts';

// A realtime node caches each app's auth settings, rules and limits, and
// reloads them when the control plane announces a change on the bus. These
// tests change the database behind the bus's back (as a lost announcement
// would leave it) and show the node catching up: within
// APP_FRESHNESS_CHECK_INTERVAL_MS from the config-version check, or at once
// when its Redis subscription reconnects.

const CHECK_INTERVAL_MS = 300;
const WRITES_DENIED = ALLOW_ALL.replace(/write: true/, 'write: false');

/**
 * Changes the app's auth and rules straight in the database: nothing is
 * announced. One transaction: a freshness check between separate
 * statements would load the new auth with the old rules, and the test would
 * write before the next check.
 */
async function changeSilently(stack: Stack, appId: string) {
  await stack.db.prisma.$transaction(async (tx) => {
    await tx.appAuthSettings.update({ where: { appId }, data: { openEnabled: false } });
    const version = await tx.permissionVersion.create({
      data: { appId, version: 1000, source: WRITES_DENIED, format: 'yaml', author: 'test' },
    });
    await tx.app.update({
      where: { id: appId },
      data: { activePermissionVersionId: version.id },
    });
  });
}

function write(client: DeepstreamClient, name: string): Promise<unknown> {
  return client.record.setDataWithAck(name, { at: Date.now() } as never) as Promise<unknown>;
}

/** The login's outcome: 'ok', or the reason it was refused. */
async function loginOutcome(stack: Stack, appId: string, node = 0): Promise<string> {
  const client = stack.rawClient(appId, { node, maxReconnectAttempts: 0 });
  try {
    await client.login({});
    return 'ok';
  } catch (error) {
    return String((error as { reason?: unknown })?.reason ?? error);
  } finally {
    client.close();
  }
}

describe('a change whose announcement was lost', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({
      env: { APP_FRESHNESS_CHECK_INTERVAL_MS: String(CHECK_INTERVAL_MS) },
    });
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('is in force within the freshness check interval', async () => {
    const appId = await stack.createApp();
    const client = await stack.client(appId);
    await write(client, 'fresh/before');
    const runtime = (await stack.runtime(appId))!;

    await changeSilently(stack, appId);
    const changedAt = Date.now();
    // until() gives up after 5 s: far more than the 300 ms interval.
    await until(() => runtime.auth.openEnabled === false, 'the node to see the change');
    const tookMs = Date.now() - changedAt;
    console.info(
      `lost change in force after ${tookMs} ms (check interval ${CHECK_INTERVAL_MS} ms)`,
    );

    await expect(write(client, 'fresh/after')).rejects.toBeDefined();
    expect(await loginOutcome(stack, appId)).not.toBe('ok');
  });

  it('is in force as soon as a check has run (checkFreshness)', async () => {
    const appId = await stack.createApp();
    await stack.client(appId);
    const runtime = (await stack.runtime(appId))!;
    const before = runtime.permissions;

    await changeSilently(stack, appId);
    await stack.node(0).hubstream.registry.checkFreshness();
    expect(runtime.auth.openEnabled).toBe(false);
    expect(runtime.permissions).not.toBe(before);
  });

  it('reloads nothing when nothing changed', async () => {
    const appId = await stack.createApp();
    await stack.client(appId);
    const runtime = (await stack.runtime(appId))!;
    const { auth, permissions } = runtime;
    await stack.node(0).hubstream.registry.checkFreshness();
    await stack.node(0).hubstream.registry.checkFreshness();
    expect(runtime.auth).toBe(auth);
    expect(runtime.permissions).toBe(permissions);
  });

  it('closes the connections of an app deleted behind its back', async () => {
    const appId = await stack.createApp();
    const client = await stack.client(appId);
    const closed = new Promise<string>((resolve) =>
      client.on('connectionStateChanged', (state: string) => {
        if (state !== 'OPEN') resolve(state);
      }),
    );
    await stack.db.prisma.app.delete({ where: { id: appId } });
    await stack.node(0).hubstream.registry.checkFreshness();
    expect(await closed).not.toBe('OPEN');
    expect(await stack.runtime(appId)).toBeNull();
  });
});

/** Cuts the Redis connection with this name prefix, as a network failure would. */
async function killConnection(redisUrl: string, namePrefix: string): Promise<void> {
  const admin = new Redis(redisUrl);
  try {
    const list = (await admin.client('LIST')) as string;
    const line = list.split('\n').find((l) => l.includes(` name=${namePrefix}`));
    const id = line && /^id=(\d+)/.exec(line)?.[1];
    if (!id) throw new Error(`no Redis connection named ${namePrefix}...`);
    await admin.client('KILL', 'ID', id);
  } finally {
    await admin.quit();
  }
}

describe('a node whose Redis subscription reconnects', () => {
  let stack: Stack;
  beforeAll(async () => {
    // An hour between checks: only the reconnect can make this node re-read.
    stack = await startStack({ redis: true, env: { APP_FRESHNESS_CHECK_INTERVAL_MS: '3600000' } });
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('re-reads every app it holds', async () => {
    const appId = await stack.createApp();
    const client = await stack.client(appId);
    await write(client, 'resub/before');
    const runtime = (await stack.runtime(appId))!;

    await changeSilently(stack, appId);
    await killConnection(stack.redisUrl, `${stack.keyPrefix}hs:bus-subscriber:node-0-`);
    await until(() => runtime.auth.openEnabled === false, 'the node to re-read the app');

    await expect(write(client, 'resub/after')).rejects.toBeDefined();
    expect(await loginOutcome(stack, appId)).not.toBe('ok');
  });
});
