import { readFileSync } from 'node:fs';
import type { DeepstreamClient } from '@deepstream/client';
import { until } from '@hubstream/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppRuntime } from '../src/runtime/app-runtime.ts';
import { ALLOW_ALL, type Stack, startStack } from './harness.ts';

const SEED = readFileSync(
  new URL('../../../../shared/fixtures/seed-permissions.yml', import.meta.url),
  'utf8',
);

let stack: Stack;
let seedApp: string;
let runtime: AppRuntime;
beforeAll(async () => {
  stack = await startStack();
  seedApp = await stack.createApp({ namedUsers: true, permissions: SEED });
  runtime = (await stack.runtime(seedApp))!;
});
afterAll(async () => {
  await stack?.close();
});

type ClientError = { event: string; topic: string; meta: unknown };

function errorsOf(client: DeepstreamClient): ClientError[] {
  const errors: ClientError[] = [];
  client.on('error', (meta: unknown, event: string, topic: string) =>
    errors.push({ event, topic, meta }),
  );
  return errors;
}

const providerCount = (r: AppRuntime, name: string) => r.rpc.providers.count(name);

describe('seed rpc rules through the official client', () => {
  it('"*": anyone provides and requests', async () => {
    const provider = await stack.client(seedApp, { username: 'anyone' });
    const requestor = await stack.client(seedApp, { username: 'someone' });
    provider.rpc.provide('open-rpc', (data: number, response) => response.send(data * 2));
    await until(() => providerCount(runtime, 'open-rpc') === 1, 'the provider');
    expect(await requestor.rpc.make('open-rpc', 21)).toBe(42);
  });

  it('"a-provide-b-request": only client-a provides', async () => {
    const intruder = await stack.client(seedApp, { username: 'client-c' });
    const intruderErrors = errorsOf(intruder);
    intruder.rpc.provide('a-provide-b-request', (_d: unknown, r) => r.send('intruder'));
    await until(() => intruderErrors.length > 0, 'the denial');
    expect(intruderErrors[0]).toMatchObject({ event: 'MESSAGE_DENIED', topic: 'RPC' });
    expect(providerCount(runtime, 'a-provide-b-request')).toBe(0);
    // The client forgot its provider when denied.
    expect(intruder.rpc.providerNames()).toEqual([]);

    const a = await stack.client(seedApp, { username: 'client-a' });
    const aErrors = errorsOf(a);
    a.rpc.provide('a-provide-b-request', (_d: unknown, r) => r.send('from a'));
    await until(() => providerCount(runtime, 'a-provide-b-request') === 1, 'client-a providing');
    expect(aErrors).toEqual([]);
    a.rpc.unprovide('a-provide-b-request');
    await until(() => providerCount(runtime, 'a-provide-b-request') === 0, 'unprovided');
  });

  it('"a-provide-b-request": only client-b requests', async () => {
    const a = await stack.client(seedApp, { username: 'client-a' });
    let calls = 0;
    a.rpc.provide('a-provide-b-request', (_d: unknown, r) => {
      calls++;
      r.send('from a');
    });
    await until(() => providerCount(runtime, 'a-provide-b-request') === 1, 'client-a providing');
    const b = await stack.client(seedApp, { username: 'client-b' });
    expect(await b.rpc.make('a-provide-b-request', null)).toBe('from a');
    const c = await stack.client(seedApp, { username: 'client-c' });
    await expect(c.rpc.make('a-provide-b-request', null)).rejects.toBe('MESSAGE_DENIED');
    // client-a may provide it, but not request it.
    await expect(a.rpc.make('a-provide-b-request', null)).rejects.toBe('MESSAGE_DENIED');
    expect(calls).toBe(1);
    a.rpc.unprovide('a-provide-b-request');
    await until(() => providerCount(runtime, 'a-provide-b-request') === 0, 'unprovided');
  });

  it('"only-full-user-data": a request needs string firstname and lastname', async () => {
    const provider = await stack.client(seedApp, { username: 'provider' });
    const requestor = await stack.client(seedApp, { username: 'requestor' });
    const seen: unknown[] = [];
    provider.rpc.provide('only-full-user-data', (data: unknown, r) => {
      seen.push(data);
      r.send('ok');
    });
    await until(() => providerCount(runtime, 'only-full-user-data') === 1, 'the provider');
    const full = { firstname: 'Egon', lastname: 'Miller' };
    expect(await requestor.rpc.make('only-full-user-data', full)).toBe('ok');
    await expect(
      requestor.rpc.make('only-full-user-data', { firstname: 'Egon', lastname: 7 }),
    ).rejects.toBe('MESSAGE_DENIED');
    await expect(requestor.rpc.make('only-full-user-data', { firstname: 'Egon' })).rejects.toBe(
      'MESSAGE_DENIED',
    );
    // `data.firstname` on null throws in the rule: a permission error, not a denial.
    await expect(requestor.rpc.make('only-full-user-data', null)).rejects.toBe(
      'MESSAGE_PERMISSION_ERROR',
    );
    expect(seen).toEqual([full]);
  });
});

describe('rpc rules hot reload', () => {
  it('removes a provider the new rules no longer allow, with MESSAGE_DENIED', async () => {
    const appId = await stack.createApp({ namedUsers: true });
    const app = (await stack.runtime(appId))!;
    const kept = await stack.client(appId, { username: 'kept' });
    const dropped = await stack.client(appId, { username: 'dropped' });
    const requestor = await stack.client(appId, { username: 'requestor' });
    const keptErrors = errorsOf(kept);
    const droppedErrors = errorsOf(dropped);
    kept.rpc.provide('service', (_d: unknown, r) => r.send('kept'));
    dropped.rpc.provide('service', (_d: unknown, r) => r.send('dropped'));
    dropped.rpc.provide('other', (_d: unknown, r) => r.send('other'));
    await until(
      () => providerCount(app, 'service') === 2 && providerCount(app, 'other') === 1,
      'three provisions',
    );

    const rules = ALLOW_ALL.replace(
      'rpc:\n  "*":\n    provide: true\n    request: true\n',
      'rpc:\n  "*":\n    provide: true\n    request: true\n  "service":\n    provide: "user.id === \'kept\'"\n',
    );
    expect(rules).not.toBe(ALLOW_ALL);
    const upload = await stack.api('PUT', `/v1/apps/${appId}/permissions`, { valve: rules });
    expect(upload.status).toBe(200);

    await until(() => droppedErrors.length > 0, 'the denial');
    expect(droppedErrors).toEqual([
      {
        event: 'MESSAGE_DENIED',
        topic: 'RPC',
        meta: expect.objectContaining({ name: 'service' }),
      },
    ]);
    expect(providerCount(app, 'service')).toBe(1);
    // What the new rules still allow stays.
    expect(providerCount(app, 'other')).toBe(1);
    expect(keptErrors).toEqual([]);
    for (let i = 0; i < 5; i++) expect(await requestor.rpc.make('service', null)).toBe('kept');
    expect(await requestor.rpc.make('other', null)).toBe('other');
    expect(dropped.rpc.providerNames()).toEqual(['other']);
  });
});
