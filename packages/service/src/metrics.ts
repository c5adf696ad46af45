import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest, FastifySchema, LogLevel } from 'fastify';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

// Prometheus metrics. Each server (control plane, realtime node, worker) has
// its own registry for what it measures; the process metrics (CPU, memory,
// heap, GC, event-loop lag) live in one registry per process, collected
// once, and every /metrics adds them. In the single process the control
// plane's and the realtime node's /metrics both carry them.

export { Counter, Gauge, Histogram, Registry };

let processRegistry: Registry | undefined;

/** The process's own metrics (prom-client's defaults: nodejs_*, process_*), collected once. */
export function processMetrics(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}

export type MetricsOptions = {
  /** What this server measures, next to the process metrics. */
  registry: Registry;
  /**
   * Set: /metrics wants `Authorization: Bearer <token>`. Unset: it answers
   * only requests from this machine's loopback that no proxy forwarded.
   */
  token?: string | undefined;
};

const digest = (value: string) => createHash('sha256').update(value).digest();

function isLoopback(address: string | undefined): boolean {
  if (!address) return false;
  return address === '::1' || /^(::ffff:)?127\./.test(address);
}

type Access = 'allowed' | 'bad-token' | 'not-local';

function access(request: FastifyRequest, token: string | undefined): Access {
  if (token !== undefined) {
    const given = request.headers.authorization ?? '';
    // Compared as digests: same length, constant time, whatever was sent.
    return timingSafeEqual(digest(given), digest(`Bearer ${token}`)) ? 'allowed' : 'bad-token';
  }
  // Behind a proxy every request comes from the proxy's address: a
  // forwarded request is never local, whatever its socket says.
  const forwarded = request.headers['x-forwarded-for'] ?? request.headers.forwarded;
  return isLoopback(request.socket.remoteAddress) && forwarded === undefined
    ? 'allowed'
    : 'not-local';
}

/** Request counts and durations by route template (never the raw URL: bounded labels). */
function instrumentRequests(app: FastifyInstance, registry: Registry) {
  const requests = new Counter({
    name: 'hubstream_http_requests_total',
    help: 'HTTP requests answered, by method, route template and status code.',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'hubstream_http_request_duration_seconds',
    help: 'Time to answer an HTTP request, by method and route template.',
    labelNames: ['method', 'route'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  app.addHook('onResponse', async (request, reply) => {
    // Unknown paths share one label, so scanners cannot grow the series.
    const route = request.routeOptions.url ?? 'unmatched';
    const method = request.method;
    requests.inc({ method, route, status: String(reply.statusCode) });
    duration.observe({ method, route }, reply.elapsedTime / 1000);
  });
}

/**
 * `GET /metrics` in the Prometheus text format: the process metrics, HTTP
 * request metrics of this server, and whatever the caller put in `registry`.
 */
export function registerMetricsRoute(app: FastifyInstance, options: MetricsOptions): void {
  const { registry, token } = options;
  const own = processMetrics();
  instrumentRequests(app, registry);
  // Scraped every few seconds: log only failures, as the health routes do.
  const logLevel: LogLevel = ['info', 'debug', 'trace'].includes(app.log.level)
    ? 'warn'
    : (app.log.level as LogLevel);
  // Not part of the API: kept out of the OpenAPI document (`hide` is @fastify/swagger's).
  const schema = { hide: true } as FastifySchema;
  app.get('/metrics', { logLevel, schema }, async (request, reply) => {
    const verdict = access(request, token);
    if (verdict === 'bad-token') {
      return reply
        .code(401)
        .header('www-authenticate', 'Bearer realm="metrics"')
        .send({
          error: {
            code: 'UNAUTHORIZED',
            message: 'GET /metrics needs "Authorization: Bearer <METRICS_TOKEN>".',
            details: [],
          },
        });
    }
    if (verdict === 'not-local') {
      return reply.code(403).send({
        error: {
          code: 'FORBIDDEN',
          message:
            'GET /metrics answers only local requests while METRICS_TOKEN is unset; set it to scrape from elsewhere.',
          details: [],
        },
      });
    }
    // Both registries end with a newline: their texts concatenate into one exposition.
    const text = (await own.metrics()) + (await registry.metrics());
    return reply.header('content-type', registry.contentType).send(text);
  });
}

/**
 * `hubstream_job_runs_total{job,outcome}` and `hubstream_job_duration_seconds{job}`:
 * the runs this process finished (job names are a closed set).
 */
export function registerJobRuns(
  registry: Registry,
  watch: (observe: (job: string, outcome: string, durationMs: number) => void) => void,
): void {
  const runs = new Counter({
    name: 'hubstream_job_runs_total',
    help: 'Job runs this process finished, by job and outcome: completed, retrying (failed, tries left), failed (for good).',
    labelNames: ['job', 'outcome'] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'hubstream_job_duration_seconds',
    help: 'Time a job run took, by job.',
    labelNames: ['job'] as const,
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [registry],
  });
  watch((job, outcome, durationMs) => {
    runs.inc({ job, outcome });
    duration.observe({ job }, durationMs / 1000);
  });
}

/**
 * `hubstream_jobs{state}`: jobs in the queue by state (waiting, active,
 * delayed, failed, ...), read from the queue at each scrape.
 */
export function registerQueueDepth(
  registry: Registry,
  counts: () => Promise<Record<string, number>>,
): void {
  new Gauge({
    name: 'hubstream_jobs',
    help: 'Jobs in the queue by state: waiting, active, delayed (a retry waiting for its backoff), prioritized, waiting-children, failed (kept for inspection).',
    labelNames: ['state'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      // Queue unreachable: no series (absent() alerts), rather than a failed scrape.
      const byState = await counts().catch(() => ({}));
      for (const [state, count] of Object.entries(byState)) this.set({ state }, count);
    },
  });
}
