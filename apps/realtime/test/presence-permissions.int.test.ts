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
const SEED_PRESENCE = 'presence:\n  "*":\n    allow: true\n';

// The seed's only presence rule allows everything, so it has no denied case
// of its own. The denials run on the seed with that section swapped for one
// that refuses a user everywhere and everyone one name. `*_ALL` actions have
// no name: only "*" decides them.
const RESTRICTED = SEED.replace(
  SEED_PRESENCE,
  'presence:\n  "*":\n    allow: "user.id !== \'intruder\'"\n  "secret":\n    allow: false\n',
);

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
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

const named = (r: AppRuntime, user: string) => r.presence.subscriptions.count(user);

describe('seed presence rule through the official client', () => {
  it('"*" allow: true lets anyone subscribe and query', async () => {
    expect(SEED).toContain(SEED_PRESENCE);
    const appId = await stack.createApp({ namedUsers: true, permissions: SEED });
    const runtime = (await stack.runtime(appId))!;
    const watcher = await stack.client(appId, { username: 'watcher' });
    const errors = errorsOf(watcher);
    const changes: [string, boolean][] = [];
    watcher.presence.subscribe((user: string, online: boolean) => changes.push([user, online]));
    watcher.presence.subscribe('egon', (user: string, online: boolean) =>
      changes.push([`named ${user}`, online]),
    );
    await until(
      () => runtime.presence.everyone.size === 1 && named(runtime, 'egon') === 1,
      'both subscriptions',
    );
    await stack.client(appId, { username: 'egon' });
    await until(() => changes.length === 2, 'two notifications');
    expect(changes.sort()).toEqual([
      ['egon', true],
      ['named egon', true],
    ]);
    expect(await watcher.presence.getAll()).toEqual(['egon']);
    expect(await watcher.presence.getAll(['egon', 'miller'])).toEqual({
      egon: true,
      miller: false,
    });
    expect(errors).toEqual([]);
  });

  it('a refused rule denies every presence action, with MESSAGE_DENIED', async () => {
    expect(RESTRICTED).not.toBe(SEED);
    const appId = await stack.createApp({ namedUsers: true, permissions: RESTRICTED });
    const runtime = (await stack.runtime(appId))!;
    const intruder = await stack.client(appId, { username: 'intruder' });
    const errors = errorsOf(intruder);
    await expect(intruder.presence.getAll()).rejects.toBe('MESSAGE_DENIED');
    await expect(intruder.presence.getAll(['someone'])).rejects.toBe('MESSAGE_DENIED');
    intruder.presence.subscribe(() => {});
    intruder.presence.subscribe('someone', () => {});
    await until(() => errors.length === 2, 'two denials');
    expect(errors.map((e) => [e.event, e.topic])).toEqual([
      ['MESSAGE_DENIED', 'PRESENCE'],
      ['MESSAGE_DENIED', 'PRESENCE'],
    ]);
    expect(runtime.presence.everyone.size).toBe(0);
    expect(named(runtime, 'someone')).toBe(0);

    // Anyone else may, except for the one refused name.
    const other = await stack.client(appId, { username: 'other' });
    const otherErrors = errorsOf(other);
    expect(await other.presence.getAll()).toEqual(['intruder']);
    expect(await other.presence.getAll(['intruder'])).toEqual({ intruder: true });
    await expect(other.presence.getAll(['intruder', 'secret'])).rejects.toBe('MESSAGE_DENIED');
    other.presence.subscribe('secret', () => {});
    other.presence.subscribe('intruder', () => {});
    await until(() => otherErrors.length === 1 && named(runtime, 'intruder') === 1, 'one denial');
    expect(otherErrors[0]).toMatchObject({
      event: 'MESSAGE_DENIED',
      meta: expect.objectContaining({ name: 'secret' }),
    });
    expect(named(runtime, 'secret')).toBe(0);
  });
});

describe('presence rules hot reload', () => {
  it('drops subscriptions the new rules no longer allow, with MESSAGE_DENIED', async () => {
    const appId = await stack.createApp({ namedUsers: true });
    const runtime = (await stack.runtime(appId))!;
    const observer = await stack.client(appId, { username: 'observer' });
    const other = await stack.client(appId, { username: 'other' });
    const errors = errorsOf(observer);
    const otherErrors = errorsOf(other);
    const kept: [string, boolean][] = [];
    observer.presence.subscribe(() => {});
    observer.presence.subscribe('bob', () => {});
    observer.presence.subscribe('kept', (user: string, online: boolean) =>
      kept.push([user, online]),
    );
    other.presence.subscribe(() => {});
    await until(
      () =>
        runtime.presence.everyone.size === 2 &&
        named(runtime, 'bob') === 1 &&
        named(runtime, 'kept') === 1,
      'the subscriptions',
    );

    const rules = ALLOW_ALL.replace(
      'presence:\n  "*":\n    allow: true\n',
      'presence:\n  "*":\n    allow: "user.id !== \'observer\'"\n  "kept":\n    allow: true\n',
    );
    expect(rules).not.toBe(ALLOW_ALL);
    const upload = await stack.api('PUT', `/v1/apps/${appId}/permissions`, { valve: rules });
    expect(upload.status).toBe(200);

    await until(() => errors.length === 2, 'two denials');
    expect(errors.map((e) => [e.event, e.topic])).toEqual([
      ['MESSAGE_DENIED', 'PRESENCE'],
      ['MESSAGE_DENIED', 'PRESENCE'],
    ]);
    expect(named(runtime, 'bob')).toBe(0);
    expect(runtime.presence.everyone.size).toBe(1);
    expect(named(runtime, 'kept')).toBe(1);
    expect(otherErrors).toEqual([]);
    await stack.client(appId, { username: 'kept' });
    await until(() => kept.length === 1, 'the kept subscription still notified');
    expect(kept).toEqual([['kept', true]]);
  });
});
