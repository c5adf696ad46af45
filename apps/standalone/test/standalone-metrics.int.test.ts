import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { httpOf, type RunningHubstream, startHubstream } from '@hubstream/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// `pnpm start` serves GET /metrics on both of its ports. With no
// METRICS_TOKEN it answers only local requests that no proxy forwarded.

let dataDir: string;
let hubstream: RunningHubstream;

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'hs-metrics-'));
  hubstream = await startHubstream({ DATA_DIR: dataDir, LOG_LEVEL: 'info' });
}, 120_000);

afterAll(async () => {
  await hubstream?.stop();
  await rm(dataDir, { recursive: true, force: true });
});

describe('GET /metrics of the single process', () => {
  it('answers on the control plane and on the realtime port, with the process metrics on both', async () => {
    const controlPlane = await fetch(`${hubstream.controlPlaneUrl}/metrics`);
    const realtime = await fetch(`${httpOf(hubstream.realtimeUrl)}/metrics`);
    expect(controlPlane.status).toBe(200);
    expect(realtime.status).toBe(200);
    const [cpText, rtText] = [await controlPlane.text(), await realtime.text()];
    for (const text of [cpText, rtText]) {
      expect(text).toContain('# TYPE nodejs_eventloop_lag_seconds gauge');
      expect(text).toContain('# TYPE hubstream_http_requests_total counter');
    }
    expect(rtText).toContain('# TYPE hubstream_realtime_connections gauge');
    expect(rtText).toContain('# TYPE hubstream_records_oldest_unpersisted_seconds gauge');
    // The single process keeps its bus in memory: no bus lag to measure.
    expect(rtText).not.toContain('hubstream_bus_delivery_lag_seconds');
    expect(cpText).not.toContain('hubstream_realtime_connections');
  });

  it('refuses a request a proxy forwarded while METRICS_TOKEN is unset', async () => {
    const forwarded = await fetch(`${hubstream.controlPlaneUrl}/metrics`, {
      headers: { 'x-forwarded-for': '203.0.113.7' },
    });
    expect(forwarded.status).toBe(403);
    const body = (await forwarded.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('FORBIDDEN');
    expect(body.error.message).toContain('METRICS_TOKEN');
  });
});
