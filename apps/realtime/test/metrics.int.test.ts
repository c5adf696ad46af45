import type { DeepstreamClient } from '@deepstream/client';
import { EVENT_ACTION, PARSER_ACTION, TOPIC } from '@hubstream/protocol';
import { connectWire, until } from '@hubstream/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nextError, type Stack, startStack } from './harness.ts';

// A realtime node's GET /metrics moves with real traffic from the official
// client: connections per app, messages per topic, denials, failed logins,
// and (between two nodes over Redis) the bus's delivery lag.

type Series = { name: string; labels: Record<string, string>; value: number };

function parse(text: string): Series[] {
  const series: Series[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) throw new Error(`not Prometheus text: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, key, value] of (match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g))
      labels[key!] = value!;
    series.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  return series;
}

/** The value of the one series with this name and these labels (0 when absent). */
function value(series: Series[], name: string, labels: Record<string, string> = {}): number {
  const found = series.filter(
    (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  );
  if (found.length > 1) throw new Error(`${name} ${JSON.stringify(labels)} is ambiguous`);
  return found[0]?.value ?? 0;
}

let stack: Stack;

async function scrape(node: number): Promise<Series[]> {
  const url = `${stack.nodeUrl(node).replace(/^ws/, 'http')}/metrics`;
  const response = await fetch(url);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return parse(await response.text());
}

async function loginFails(client: DeepstreamClient, authData: object): Promise<void> {
  await expect(client.login(authData as never)).rejects.toBeDefined();
}

const RULES = [
  'event:',
  '  "*":',
  '    publish: true',
  '    subscribe: true',
  '  "no/*":',
  '    publish: false',
  'record:',
  '  "*":',
  '    create: true',
  '    read: true',
  '    write: true',
  'rpc:',
  '  "*":',
  '    provide: true',
  '    request: true',
  'presence:',
  '  "*":',
  '    allow: true',
  '',
].join('\n');

beforeAll(async () => {
  stack = await startStack({ redis: true, nodes: 2 });
}, 60_000);

afterAll(async () => {
  await stack?.close();
});

describe('realtime GET /metrics', () => {
  it('counts connections per app, messages per topic, denials, failed logins and bus lag', async () => {
    const appId = await stack.createApp({ permissions: RULES, auth: { email: { enabled: true } } });
    const before = await scrape(0);
    expect(value(before, 'hubstream_realtime_connections', { app: appId })).toBe(0);
    expect(value(before, 'hubstream_realtime_permission_denials_total')).toBe(0);
    // The process metrics are there from the start, event-loop lag among them.
    expect(before.some((s) => s.name === 'nodejs_eventloop_lag_seconds')).toBe(true);
    expect(before.some((s) => s.name === 'process_cpu_seconds_total')).toBe(true);

    // Two clients on node 0; an emitter on node 1 reaches node 0 over the Redis bus.
    const subscriber = await stack.client(appId, { username: 'sub' }, { node: 0 });
    const denied = await stack.client(appId, { username: 'denied' }, { node: 0 });
    const emitter = await stack.client(appId, { username: 'emitter' }, { node: 1 });
    let received = 0;
    subscriber.event.subscribe('ok/news', () => {
      received++;
    });
    await until(() => {
      emitter.event.emit('ok/news', { n: received });
      return received > 0;
    }, 'an event from node 1');

    const refusal = nextError(denied, 'MESSAGE_DENIED');
    denied.event.emit('no/secret', 1);
    await refusal;

    const during = await scrape(0);
    expect(value(during, 'hubstream_realtime_connections', { app: appId })).toBe(2);
    // The subscribe and the denied emit came in on node 0; the event went out to the subscriber.
    expect(
      value(during, 'hubstream_realtime_messages_received_total', { topic: 'event' }),
    ).toBeGreaterThanOrEqual(2);
    expect(
      value(during, 'hubstream_realtime_messages_sent_total', { topic: 'event' }),
    ).toBeGreaterThanOrEqual(2);
    expect(
      value(during, 'hubstream_realtime_permission_denials_total', {
        topic: 'event',
        verdict: 'denied',
      }),
    ).toBe(1);
    expect(
      value(during, 'hubstream_bus_delivery_lag_seconds_count'),
      'messages from node 1 timed on node 0',
    ).toBeGreaterThanOrEqual(1);
    // Node 1 emitted: its sent counters did not see node 0's denial.
    const node1 = await scrape(1);
    expect(value(node1, 'hubstream_realtime_connections', { app: appId })).toBe(1);
    expect(value(node1, 'hubstream_realtime_permission_denials_total', { topic: 'event' })).toBe(0);
    expect(
      value(node1, 'hubstream_realtime_messages_received_total', { topic: 'event' }),
    ).toBeGreaterThanOrEqual(1);

    // Failed logins, by reason.
    await loginFails(stack.rawClient(appId, { node: 0 }), {
      type: 'email',
      email: 'nobody@example.com',
      password: 'wrong password',
    });
    await loginFails(stack.rawClient(appId, { node: 0 }), { type: 'webhook' });
    const after = await scrape(0);
    expect(value(after, 'hubstream_realtime_auth_failures_total', { reason: 'rejected' })).toBe(1);
    expect(
      value(after, 'hubstream_realtime_auth_failures_total', { reason: 'type_not_enabled' }),
    ).toBe(1);
    // Not logged in, but open: they count as connections until they close.
    expect(value(after, 'hubstream_realtime_connections', { app: appId })).toBe(4);

    subscriber.close();
    await until(
      async () => value(await scrape(0), 'hubstream_realtime_connections', { app: appId }) === 3,
      'the closed connection to leave the gauge',
    );
  });

  it('reports the persistence lag of records this node wrote', async () => {
    const appId = await stack.createApp({ permissions: RULES });
    const client = await stack.client(appId, {}, { node: 0 });
    const record = client.record.getRecord('metrics/one');
    await record.whenReady();
    await new Promise<void>((resolve, reject) =>
      record.set({ a: 1 }, (error) => (error ? reject(new Error(String(error))) : resolve())),
    );
    const series = await scrape(0);
    for (const name of [
      'hubstream_records_unpersisted',
      'hubstream_records_oldest_unpersisted_seconds',
      'hubstream_records_awaiting_batch',
    ])
      expect(
        series.some((s) => s.name === name && Number.isFinite(s.value)),
        name,
      ).toBe(true);
    // The worker's batch lands in Postgres: the lag goes back to nothing.
    await until(async () => {
      const now = await scrape(0);
      return (
        value(now, 'hubstream_records_unpersisted') === 0 &&
        value(now, 'hubstream_records_oldest_unpersisted_seconds') === 0
      );
    }, 'the record to be persisted');
  });

  it("counts messages refused by an app's limit, and frames refused by the protocol", async () => {
    const appId = await stack.createApp({ permissions: RULES });
    const limits = await stack.api('PUT', `/v1/apps/${appId}/limits`, {
      connectionMessagesPerSecond: 1,
    });
    expect(limits.status).toBe(200);
    const before = await scrape(0);
    const wire = await connectWire(`${stack.nodeUrl(0)}/${appId}`, 'raw');
    // v7 speaks binary frames only: a text frame is refused before any handler.
    wire.sendBytes('not a frame');
    const parser = await wire.next((m) => m.topic === TOPIC.PARSER);
    expect(parser.action).toBe(PARSER_ACTION.INVALID_MESSAGE);
    // One emit a second: the next ones within the second are refused.
    for (let i = 0; i < 3; i++)
      wire.send({ topic: TOPIC.EVENT, action: EVENT_ACTION.EMIT, name: 'ok/fast', data: 'U1' });
    await wire.next((m) => m.topic === TOPIC.EVENT && m.action === EVENT_ACTION.MESSAGE_DENIED);
    const after = await scrape(0);
    const grew = (name: string, labels: Record<string, string>) =>
      value(after, name, labels) - value(before, name, labels);
    expect(grew('hubstream_realtime_protocol_errors_total', { kind: 'text_frame' })).toBe(1);
    expect(
      grew('hubstream_realtime_rate_limited_total', { limit: 'messages' }),
    ).toBeGreaterThanOrEqual(1);
    expect(grew('hubstream_realtime_messages_received_total', { topic: 'event' })).toBe(3);
    await wire.close();
  });
});
