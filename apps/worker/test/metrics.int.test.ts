import { randomBytes } from 'node:crypto';
import { BullMqJobQueue, defineJob } from '@hubstream/cluster';
import { loadTestConfig } from '@hubstream/config';
import { createTestDatabase, type TestDatabase } from '@hubstream/db/testing';
import { type Role, type RunningRole, startRole } from '@hubstream/testing';
import { Redis } from 'ioredis';
import Type from 'typebox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// GET /metrics of the three production roles, as real processes on a fresh
// database and their own Redis key prefix, with METRICS_TOKEN set: each
// wants the token, answers in the Prometheus text format with the process
// metrics and its own, and the worker (and the control plane) show the job
// queue's depth.

const { TEST_REDIS_URL } = loadTestConfig();
const TOKEN = `metrics-${randomBytes(12).toString('hex')}`;
const keyPrefix = `test:metrics:${randomBytes(4).toString('hex')}:`;

let testDb: TestDatabase;
const roles: Partial<Record<Role, RunningRole>> = {};
let urls: Record<Role, string>;

beforeAll(async () => {
  testDb = await createTestDatabase('metrics');
  const env = {
    DATABASE_URL: testDb.url,
    REDIS_URL: TEST_REDIS_URL,
    REDIS_KEY_PREFIX: keyPrefix,
    METRICS_TOKEN: TOKEN,
    LOG_LEVEL: 'info',
  };
  roles['control-plane'] = startRole('control-plane', env);
  roles.realtime = startRole('realtime', env);
  roles.worker = startRole('worker', env);
  const [controlPlane, realtime, worker] = await Promise.all([
    roles['control-plane'].listening,
    roles.realtime.listening,
    roles.worker.listening,
  ]);
  urls = { 'control-plane': controlPlane, realtime: realtime.replace(/^ws/, 'http'), worker };
}, 120_000);

afterAll(async () => {
  await Promise.all(Object.values(roles).map((role) => role.stop('SIGKILL')));
  const redis = new Redis(TEST_REDIS_URL);
  const keys = await redis.keys(`${keyPrefix}*`);
  if (keys.length > 0) await redis.unlink(...keys);
  await redis.quit();
  await testDb?.drop();
});

async function scrape(role: Role, token: string | null = TOKEN) {
  const response = await fetch(`${urls[role]}/metrics`, {
    headers: token === null ? {} : { authorization: `Bearer ${token}` },
  });
  return {
    status: response.status,
    type: response.headers.get('content-type'),
    text: await response.text(),
  };
}

/** The value of a sample line (`name{labels} value`), or undefined. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

const OWN_METRICS: Record<Role, string[]> = {
  'control-plane': ['hubstream_http_requests_total', 'hubstream_jobs'],
  realtime: [
    'hubstream_realtime_connections',
    'hubstream_realtime_messages_received_total',
    'hubstream_realtime_messages_sent_total',
    'hubstream_realtime_permission_denials_total',
    'hubstream_realtime_auth_failures_total',
    'hubstream_records_oldest_unpersisted_seconds',
    'hubstream_bus_delivery_lag_seconds',
  ],
  worker: ['hubstream_jobs', 'hubstream_job_runs_total', 'hubstream_job_duration_seconds'],
};

describe('GET /metrics on every role', () => {
  it.each(['control-plane', 'realtime', 'worker'] as const)(
    '%s wants the token and answers in the Prometheus text format',
    async (role) => {
      expect((await scrape(role, null)).status).toBe(401);
      expect((await scrape(role, `${TOKEN}x`)).status).toBe(401);
      const { status, type, text } = await scrape(role);
      expect(status).toBe(200);
      expect(type).toMatch(/^text\/plain; version=0\.0\.4/);
      for (const name of [
        'nodejs_eventloop_lag_seconds',
        'process_cpu_seconds_total',
        ...OWN_METRICS[role],
      ])
        expect(text, name).toContain(`# TYPE ${name} `);
      // The scrapes before this one were counted, by route template.
      expect(text).toMatch(
        /hubstream_http_requests_total\{method="GET",route="\/metrics",status="401"\} [1-9]/,
      );
    },
  );

  it("shows the queue's depth: a job waiting for its retry is 'delayed' on the worker and the control plane", async () => {
    // A job no worker knows fails on its first try; its retry waits a minute.
    const probe = defineJob({
      name: 'metrics-probe',
      payload: Type.Object({}),
      attempts: 2,
      backoffMs: 60_000,
      handle: async () => {},
    });
    const queue = new BullMqJobQueue({
      url: TEST_REDIS_URL,
      definitions: [probe],
      logger: { warn: () => {}, error: () => {} },
      process: false,
      prefix: `${keyPrefix}hs:bull`,
    });
    try {
      const before = await scrape('worker');
      expect(sample(before.text, 'hubstream_jobs{state="delayed"}')).toBe(0);
      await queue.enqueue('metrics-probe', {});
      await roles.worker!.waitForLog((entry) => entry.job === 'metrics-probe');
      let delayed: number | undefined;
      for (let i = 0; i < 100 && delayed !== 1; i++) {
        delayed = sample((await scrape('worker')).text, 'hubstream_jobs{state="delayed"}');
        if (delayed !== 1) await new Promise((r) => setTimeout(r, 50));
      }
      expect(delayed).toBe(1);
      // The failed first run, counted under one label for names the worker does not define.
      const worker = (await scrape('worker')).text;
      expect(sample(worker, 'hubstream_job_runs_total{job="unknown",outcome="retrying"}')).toBe(1);
      expect(sample(worker, 'hubstream_job_duration_seconds_count{job="unknown"}')).toBe(1);
      expect(sample((await scrape('control-plane')).text, 'hubstream_jobs{state="delayed"}')).toBe(
        1,
      );
      expect(sample((await scrape('worker')).text, 'hubstream_jobs{state="waiting"}')).toBe(0);
    } finally {
      await queue.close();
    }
  });
});
