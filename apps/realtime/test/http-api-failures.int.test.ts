import { until } from '@hubstream/testing';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Stack, startStack } from './harness.ts';
import { addApiKey, postTo } from './http-api-helpers.ts';

// The HTTP data API's answers when something goes wrong on the server's
// side rather than in the request: an RPC nobody accepts, a record store
// that fails, a handler that throws, a node that shuts down under a
// waiting request, an API key revoked while a node still has it cached;
// and the API's own metrics. One clustered node (Redis), so real Redis
// failures can be provoked.

const KEY_CACHE_MS = 300;

let stack: Stack;
let redis: Redis;
beforeAll(async () => {
  stack = await startStack({
    redis: true,
    env: {
      RPC_ACK_TIMEOUT_MS: '200',
      RPC_RESPONSE_TIMEOUT_MS: '10000',
      HTTP_API_REQUEST_TIMEOUT_MS: '15000',
      HTTP_API_KEY_CACHE_MS: String(KEY_CACHE_MS),
    },
  });
  redis = new Redis(stack.redisUrl);
});
afterAll(async () => {
  await redis?.quit();
  await stack?.close();
});

const base = () => stack.nodeUrl(0).replace(/^ws/, 'http');
const api = (appId: string, body: unknown, headers?: Record<string, string>) =>
  postTo(base(), `/${appId}/api`, body, headers);

/** The node's /metrics samples whose name and labels start with `prefix`, summed. */
async function metric(prefix: string): Promise<number> {
  const text = await (await fetch(`${base()}/metrics`)).text();
  return text
    .split('\n')
    .filter((line) => line.startsWith(prefix))
    .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
}

describe('HTTP data API: failures on the server side', () => {
  it('answers ACCEPT_TIMEOUT when the provider never accepts the RPC', async () => {
    const appId = await stack.createApp();
    const provider = await stack.client(appId, { username: 'mute' });
    provider.rpc.provide('mute', (_data, response) => {
      // Neither accepted nor answered: the node gives up after RPC_ACK_TIMEOUT_MS.
      response.autoAccept = false;
    });
    const runtime = (await stack.runtime(appId))!;
    await until(() => runtime.rpc.providers.count('mute') === 1, 'provide');
    const res = await api(appId, {
      body: [
        { topic: 'rpc', action: 'make', rpcName: 'mute', data: 1 },
        { topic: 'event', action: 'emit', eventName: 'after' },
      ],
    });
    expect(res.json()).toEqual({
      result: 'PARTIAL_SUCCESS',
      body: [
        {
          success: false,
          error: 'No RPC provider accepted the request in time.',
          errorTopic: 'rpc',
          errorEvent: 'ACCEPT_TIMEOUT',
        },
        { success: true },
      ],
    });
    expect(runtime.rpc.inFlight).toBe(0);
  });

  it('answers RECORD_UPDATE_ERROR when the record store fails, and runs the commands after it', async () => {
    const appId = await stack.createApp();
    // A real failure in Postgres, for this app's records under broken/ only.
    await stack.db.prisma.$executeRawUnsafe(`
      CREATE OR REPLACE FUNCTION hs_test_refuse_records() RETURNS trigger AS $$
      BEGIN RAISE EXCEPTION 'refused by the test'; END $$ LANGUAGE plpgsql`);
    await stack.db.prisma.$executeRawUnsafe(`
      CREATE TRIGGER hs_test_refuse_records BEFORE INSERT OR UPDATE ON records FOR EACH ROW
      WHEN (NEW.app_id = '${appId}' AND NEW.name LIKE 'broken/%')
      EXECUTE FUNCTION hs_test_refuse_records()`);
    try {
      const res = await api(appId, {
        body: [
          { topic: 'record', action: 'write', recordName: 'broken/a', data: { v: 1 } },
          { topic: 'record', action: 'write', recordName: 'fine', data: { v: 1 } },
          { topic: 'record', action: 'head', recordName: 'broken/a' },
        ],
      });
      expect(res.json()).toEqual({
        result: 'PARTIAL_SUCCESS',
        body: [
          {
            success: false,
            error:
              'Record update failed. Record "broken/a" could not be stored; the write may not have taken effect.',
            errorTopic: 'record',
            errorEvent: 'RECORD_UPDATE_ERROR',
            errorParams: 'broken/a',
          },
          { success: true },
          // The failed durable write changed nothing.
          { success: true, version: -1 },
        ],
      });
    } finally {
      await stack.db.prisma.$executeRawUnsafe('DROP TRIGGER hs_test_refuse_records ON records');
    }
  });

  it('answers INTERNAL_ERROR when a handler fails unexpectedly, without the cause', async () => {
    const appId = await stack.createApp();
    // The presence registry's key holds the wrong type: Redis refuses every read of it.
    await redis.set(`${stack.keyPrefix}hs:${appId}:presence`, 'not a hash');
    const res = await api(appId, {
      body: [
        { topic: 'presence', action: 'query' },
        { topic: 'record', action: 'head', recordName: 'after' },
      ],
    });
    expect(res.status).toBe(200);
    expect(res.json()).toEqual({
      result: 'PARTIAL_SUCCESS',
      body: [
        {
          success: false,
          error: 'The command failed on the server; it may not have taken effect.',
          errorTopic: 'presence',
          errorEvent: 'INTERNAL_ERROR',
        },
        { success: true, version: -1 },
      ],
    });
    expect(res.text).not.toMatch(/WRONGTYPE/);
  });

  it('answers commands still waiting, and those not yet run, when the node shuts down', async () => {
    const appId = await stack.createApp();
    const provider = await stack.client(appId, { username: 'slow' });
    // Accepted, never answered: the request waits on it (RPC_RESPONSE_TIMEOUT_MS is 10 s).
    provider.rpc.provide('slow', () => {});
    const runtime = (await stack.runtime(appId))!;
    await until(() => runtime.rpc.providers.count('slow') === 1, 'provide');
    const pending = api(appId, {
      body: [
        { topic: 'rpc', action: 'make', rpcName: 'slow' },
        { topic: 'record', action: 'write', recordName: 'never', data: { v: 1 } },
      ],
    });
    await until(() => runtime.rpc.inFlight === 1, 'the RPC in flight');
    await stack.restartRealtime(0);
    const shutDown = {
      success: false,
      error: 'The node shut down before a response was received; send the command again.',
      errorTopic: 'connection',
      errorEvent: 'CONNECTION_ERROR',
    };
    expect((await pending).json()).toEqual({ result: 'FAILURE', body: [shutDown, shutDown] });
    // The command after the one that waited never ran.
    const head = await api(appId, {
      body: [{ topic: 'record', action: 'head', recordName: 'never' }],
    });
    expect(head.json().body).toEqual([{ success: true, version: -1 }]);
  });

  it('stops taking a revoked API key once HTTP_API_KEY_CACHE_MS has passed', async () => {
    const appId = await stack.createApp();
    const key = await addApiKey(stack.db.prisma, appId, { scopes: ['data'] });
    const emit = { body: [{ topic: 'event', action: 'emit', eventName: 'from-backend' }] };
    const bearer = { authorization: `Bearer ${key}` };
    expect((await api(appId, emit, bearer)).json()).toEqual({
      result: 'SUCCESS',
      body: [{ success: true }],
    });
    // Revoked in the control plane's table, as the dashboard does it.
    await stack.db.prisma.apiKey.updateMany({
      where: { appId },
      data: { revokedAt: new Date() },
    });
    const revokedAt = Date.now();
    // The node may still hold the lookup it made before, for up to the setting.
    await new Promise((resolve) => setTimeout(resolve, revokedAt + KEY_CACHE_MS - Date.now()));
    const refused = await api(appId, emit, bearer);
    expect(refused.status).toBe(401);
    expect(refused.text).toMatch(/was revoked/);
  });
});

describe('HTTP data API metrics', () => {
  it('counts requests by result, commands by kind and result, and times commands', async () => {
    const appId = await stack.createApp();
    const ok = 'hubstream_http_api_requests_total{result="success"}';
    const partial = 'hubstream_http_api_requests_total{result="partial_success"}';
    const malformed = 'hubstream_http_api_requests_total{result="bad_request"}';
    const writes = 'hubstream_http_api_commands_total{kind="record.write",result="success"}';
    const missing =
      'hubstream_http_api_commands_total{kind="record.read",result="RECORD_NOT_FOUND"}';
    const listWrites = 'hubstream_http_api_commands_total{kind="list.write",result="success"}';
    const timed = 'hubstream_http_api_command_duration_seconds_count{kind="record.write"}';
    const names = [ok, partial, malformed, writes, missing, listWrites, timed];
    const before = await Promise.all(names.map(metric));

    await api(appId, {
      body: [
        { topic: 'record', action: 'write', recordName: 'm', data: { v: 1 } },
        { topic: 'list', action: 'write', listName: 'l', data: ['a'] },
      ],
    });
    await api(appId, {
      body: [
        { topic: 'record', action: 'write', recordName: 'm', data: { v: 2 } },
        { topic: 'record', action: 'read', recordName: 'missing' },
      ],
    });
    await api(appId, '{ not json');

    const after = await Promise.all(names.map(metric));
    const grew = Object.fromEntries(names.map((name, i) => [name, after[i]! - before[i]!]));
    expect(grew).toEqual({
      [ok]: 1,
      [partial]: 1,
      [malformed]: 1,
      [writes]: 2,
      [missing]: 1,
      [listWrites]: 1,
      [timed]: 2,
    });
  });
});
