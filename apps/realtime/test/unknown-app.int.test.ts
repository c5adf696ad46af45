import type { DeepstreamClient } from '@deepstream/client';
import { CLOSE_CODES, CONNECTION_ACTION, TOPIC } from '@hubstream/protocol';
import { openWire } from '@hubstream/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Stack, startStack } from './harness.ts';

// A client pointed at an app id that does not exist gets CONNECTION REJECT
// in answer to its CHALLENGE and close code APP_NOT_FOUND: the official
// client settles in CHALLENGE_DENIED instead of reconnecting forever.

/** Resolves when the client's challenge is answered: CHALLENGE_DENIED or AWAITING_AUTHENTICATION. */
function challengeOutcome(client: DeepstreamClient): Promise<string> {
  return new Promise((resolve) => {
    client.on('connectionStateChanged', (state: string) => {
      if (state === 'CHALLENGE_DENIED' || state === 'AWAITING_AUTHENTICATION') resolve(state);
    });
  });
}

describe('an unknown app id', () => {
  let stack: Stack;
  const upgrades = new Map<string, number>();
  beforeAll(async () => {
    stack = await startStack();
    // Every WebSocket the node accepts, by path.
    stack.node(0).websocketServer.on('connection', (_socket, request) => {
      const path = request.url ?? '';
      upgrades.set(path, (upgrades.get(path) ?? 0) + 1);
    });
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('stops the official client at CHALLENGE_DENIED, with no reconnect', async () => {
    // A reconnect would come at once (the client's first retry waits 0 ms).
    const options = { maxReconnectAttempts: 5, reconnectIntervalIncrement: 10 };
    const client = stack.rawClient('nosuchapp1', options);
    const states: string[] = [];
    client.on('connectionStateChanged', (state: string) => states.push(state));
    const outcome = challengeOutcome(client);
    client.login({}).catch(() => {});
    expect(await outcome).toBe('CHALLENGE_DENIED');

    // A second client after it: had the first reconnected, the node would
    // have accepted its socket first.
    const second = stack.rawClient('nosuchapp1', options);
    const secondOutcome = challengeOutcome(second);
    second.login({}).catch(() => {});
    expect(await secondOutcome).toBe('CHALLENGE_DENIED');
    expect(upgrades.get('/nosuchapp1')).toBe(2);
    expect(client.getConnectionState()).toBe('CHALLENGE_DENIED');
    expect(states).not.toContain('RECONNECTING');
  });

  it('answers the CHALLENGE with REJECT carrying the reason, then closes with APP_NOT_FOUND', async () => {
    const wire = await openWire(`${stack.realtimeUrl}/nosuchapp2`);
    wire.send({
      topic: TOPIC.CONNECTION,
      action: CONNECTION_ACTION.CHALLENGE,
      url: `${stack.realtimeUrl}/nosuchapp2`,
      protocolVersion: '0.1a',
    });
    const reject = await wire.next();
    expect(reject.topic).toBe(TOPIC.CONNECTION);
    expect(reject.action).toBe(CONNECTION_ACTION.REJECT);
    const reason = JSON.parse(reject.data ?? '{}');
    expect(reason.code).toBe('APP_NOT_FOUND');
    expect(reason.message).toContain('nosuchapp2');
    expect((await wire.closed).code).toBe(CLOSE_CODES.APP_NOT_FOUND);
  });

  it('refuses a deleted app the same way', async () => {
    const appId = await stack.createApp();
    expect((await stack.api('DELETE', `/v1/apps/${appId}`)).status).toBe(204);
    const client = stack.rawClient(appId);
    const outcome = challengeOutcome(client);
    client.login({}).catch(() => {});
    expect(await outcome).toBe('CHALLENGE_DENIED');
  });

  it('keeps the 404 for a plain HTTP GET', async () => {
    const response = await fetch(`${stack.realtimeUrl.replace('ws:', 'http:')}/nosuchapp3`);
    expect(response.status).toBe(404);
    const body = (await response.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('APP_NOT_FOUND');
    expect(body.error.message).toContain('nosuchapp3');
  });
});
