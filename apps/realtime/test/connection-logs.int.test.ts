import { Writable } from 'node:stream';
import { AUTH_ACTION, CLOSE_CODES, TOPIC } from '@hubstream/protocol';
import { createLogger } from '@hubstream/service';
import { openWire, until } from '@hubstream/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Stack, startStack } from './harness.ts';

// A realtime connection's log lines carry its connection id and app id, and
// the upgrade request's reqId; what the client logs in with never appears.

type Line = Record<string, unknown>;
const lines: Line[] = [];
const raw: string[] = [];
let stack: Stack;

beforeAll(async () => {
  const destination = new Writable({
    write(chunk, _encoding, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) {
        raw.push(line);
        lines.push(JSON.parse(line) as Line);
      }
      done();
    },
  });
  stack = await startStack({ logger: createLogger({ level: 'debug', name: 'test', destination }) });
});

afterAll(async () => {
  await stack?.close();
});

describe('connection logs', () => {
  it('tie every line of a connection to its id, its app and its upgrade request, without secrets', async () => {
    const appId = await stack.createApp({ auth: { email: { enabled: true } } });
    const client = stack.rawClient(appId);
    await expect(
      client.login({ type: 'email', email: 'who@example.com', password: 'hunter2-secret-pw' }),
    ).rejects.toBeDefined();
    await client.login({ username: 'ann' });
    client.close();
    await until(
      () => lines.some((l) => l.msg === 'connection closed' && l.app === appId),
      'the connection closed log',
    );

    const mine = (msg: string) => lines.find((l) => l.msg === msg && l.app === appId);
    const opened = mine('connection opened');
    const failed = mine('login failed');
    const loggedIn = mine('logged in');
    const closed = mine('connection closed');
    expect(opened && failed && loggedIn && closed).toBeTruthy();
    const id = opened!.connection;
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(failed).toMatchObject({ connection: id, app: appId, reason: 'rejected' });
    expect(loggedIn).toMatchObject({ connection: id, app: appId, user: 'open:ann' });
    expect(closed).toMatchObject({ connection: id, app: appId, user: 'open:ann' });
    // The upgrade's request id, also on the request's own lines.
    expect(typeof opened!.reqId).toBe('string');
    expect(closed!.reqId).toBe(opened!.reqId);
    expect(lines.some((l) => l.msg === 'incoming request' && l.reqId === opened!.reqId)).toBe(true);
    expect(raw.join('\n')).not.toContain('hunter2-secret-pw');
  });

  it("log a client's protocol fault as a warning by its code, without a stack", async () => {
    const appId = await stack.createApp();
    const wire = await openWire(`${stack.nodeUrl(0)}/${appId}`);
    // A frame over the pre-login size cap (16 KB): ws refuses it, the node closes with 1009.
    wire.send({
      topic: TOPIC.AUTH,
      action: AUTH_ACTION.REQUEST,
      data: JSON.stringify({ username: 'big', pad: 'p'.repeat(20_000) }),
    });
    expect((await wire.closed).code).toBe(CLOSE_CODES.MESSAGE_TOO_BIG);
    await until(
      () => lines.some((l) => l.msg === 'connection failed' && l.app === appId),
      'the connection failed log',
    );
    const fault = lines.find((l) => l.msg === 'Max payload size exceeded');
    expect(fault).toMatchObject({ level: 40, code: 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH' });
    expect(fault).not.toHaveProperty('err');
    const failed = lines.find((l) => l.msg === 'connection failed' && l.app === appId);
    expect(failed).toMatchObject({ code: 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH' });
    expect(failed).not.toHaveProperty('err');
    expect(
      raw.filter((l) => l.includes(appId) || l.includes('Max payload')).join('\n'),
    ).not.toContain('receiver.js');
  });
});
