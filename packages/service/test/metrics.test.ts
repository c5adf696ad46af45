import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { Gauge, Registry, registerMetricsRoute, registerQueueDepth } from '../src/index.ts';

// GET /metrics: who may read it, and what it says.

async function server(token?: string) {
  const app = Fastify();
  const registry = new Registry();
  new Gauge({ name: 'test_things', help: 'Things.', registers: [registry] }).set(7);
  registerQueueDepth(registry, async () => ({ waiting: 3, delayed: 1 }));
  registerMetricsRoute(app, { registry, token });
  app.get('/hello/:name', async () => 'hi');
  await app.ready();
  return app;
}

describe('GET /metrics', () => {
  it('answers local requests in the Prometheus text format with process, HTTP and own metrics', async () => {
    const app = await server();
    await app.inject({ url: '/hello/one' });
    await app.inject({ url: '/hello/two' });
    await app.inject({ url: '/nowhere' });
    const reply = await app.inject({ url: '/metrics' });
    expect(reply.statusCode).toBe(200);
    expect(reply.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = reply.body;
    expect(text).toMatch(/^# HELP nodejs_eventloop_lag_seconds /m);
    expect(text).toMatch(/^process_resident_memory_bytes \d+/m);
    expect(text).toMatch(/^test_things 7$/m);
    expect(text).toMatch(/^hubstream_jobs\{state="waiting"\} 3$/m);
    expect(text).toMatch(/^hubstream_jobs\{state="delayed"\} 1$/m);
    // One series per route template, not per URL; unknown paths share one.
    expect(text).toMatch(
      /^hubstream_http_requests_total\{method="GET",route="\/hello\/:name",status="200"\} 2$/m,
    );
    expect(text).toMatch(
      /^hubstream_http_requests_total\{method="GET",route="unmatched",status="404"\} 1$/m,
    );
    expect(text).not.toContain('/hello/one');
    await app.close();
  });

  it('refuses forwarded and remote requests while no token is set', async () => {
    const app = await server();
    const forwarded = await app.inject({
      url: '/metrics',
      headers: { 'x-forwarded-for': '203.0.113.9' },
    });
    expect(forwarded.statusCode).toBe(403);
    expect(forwarded.json().error.message).toContain('METRICS_TOKEN');
    const remote = await app.inject({ url: '/metrics', remoteAddress: '10.1.2.3' });
    expect(remote.statusCode).toBe(403);
    await app.close();
  });

  it('wants the bearer token when one is set, from anywhere', async () => {
    const token = 'a-long-metrics-token-0123';
    const app = await server(token);
    const none = await app.inject({ url: '/metrics' });
    expect(none.statusCode).toBe(401);
    expect(none.headers['www-authenticate']).toContain('Bearer');
    expect(none.body).not.toContain('test_things');
    const wrong = await app.inject({
      url: '/metrics',
      headers: { authorization: 'Bearer a-long-metrics-token-0124' },
    });
    expect(wrong.statusCode).toBe(401);
    const right = await app.inject({
      url: '/metrics',
      remoteAddress: '10.1.2.3',
      headers: { authorization: `Bearer ${token}`, 'x-forwarded-for': '203.0.113.9' },
    });
    expect(right.statusCode).toBe(200);
    expect(right.body).toMatch(/^test_things 7$/m);
    await app.close();
  });

  it('leaves the queue gauge empty, not the scrape failed, when the queue is away', async () => {
    const app = Fastify();
    const registry = new Registry();
    registerQueueDepth(registry, () => Promise.reject(new Error('redis away')));
    registerMetricsRoute(app, { registry });
    const reply = await app.inject({ url: '/metrics' });
    expect(reply.statusCode).toBe(200);
    expect(reply.body).not.toMatch(/^hubstream_jobs\{/m);
    await app.close();
  });
});
