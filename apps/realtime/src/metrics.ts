import { type ClusterBus, RedisBus } from '@hubstream/cluster';
import type { PersistenceLag } from '@hubstream/records';
import { Counter, Gauge, Histogram, Registry, registerMetricsRoute } from '@hubstream/service';
import type { FastifyInstance } from 'fastify';
import type { NodeCounters } from './core/node-counters.ts';
import type { HttpApiMetrics } from './http-api/metrics.ts';
import type { AppRegistry } from './runtime/app-registry.ts';

// A realtime node's Prometheus metrics, read at scrape time from what the
// node already keeps: its apps' open connections, its NodeCounters, its
// record store's persistence lag, and the bus's delivery lag.
//
// Label cardinality: message, denial, auth and limit counters are per node
// and carry only closed sets (topic, verdict, reason, limit), never an app id
// or user: per-app message counts go to each app's usage samples in the
// database (the dashboard shows them), not to Prometheus, where thousands of
// tenants times topics would swamp it. Only open connections carry the app,
// for at most MAX_APP_SERIES apps with the most connections on this node;
// the rest are summed under app="_other" (no app id starts with "_").

/** Apps with their own connections series per node; the rest share app="_other". */
export const MAX_APP_SERIES = 100;
export const OTHER_APPS = '_other';

type Sample = [labels: Record<string, string>, value: number];

/**
 * A Prometheus counter fed from totals kept elsewhere: each scrape adds what
 * grew since the last one.
 */
function counterFrom(
  registry: Registry,
  name: string,
  help: string,
  labelNames: string[],
  read: () => Sample[],
): void {
  const seen = new Map<string, number>();
  new Counter({
    name,
    help,
    labelNames,
    registers: [registry],
    collect() {
      for (const [labels, value] of read()) {
        const key = JSON.stringify(labels);
        const grew = value - (seen.get(key) ?? 0);
        if (grew > 0) this.inc(labels, grew);
        seen.set(key, value);
      }
    },
  });
}

export type RealtimeMetricsOptions = {
  registry: AppRegistry;
  counters: NodeCounters;
  bus: ClusterBus;
  persistenceLag: () => Promise<PersistenceLag>;
  /** The HTTP data API's requests and commands (http-api/metrics.ts). */
  httpApi: HttpApiMetrics;
  token: string | undefined;
};

export function registerRealtimeMetrics(
  app: FastifyInstance,
  options: RealtimeMetricsOptions,
): void {
  const metrics = new Registry();
  const { counters } = options;

  new Gauge({
    name: 'hubstream_realtime_connections',
    help: `Open client connections on this node by app (also those not logged in yet); beyond the ${MAX_APP_SERIES} largest apps, summed under app="${OTHER_APPS}".`,
    labelNames: ['app'],
    registers: [metrics],
    async collect() {
      // An app whose load fails right now is simply not counted in this scrape.
      const runtimes = await options.registry.loaded().catch(() => []);
      const open = runtimes
        .map((r) => [r.appId, r.connectionCount] as const)
        .filter(([, count]) => count > 0)
        .sort((a, b) => b[1] - a[1]);
      this.reset();
      for (const [app, count] of open.slice(0, MAX_APP_SERIES)) this.set({ app }, count);
      const rest = open.slice(MAX_APP_SERIES).reduce((sum, [, count]) => sum + count, 0);
      if (rest > 0) this.set({ app: OTHER_APPS }, rest);
    },
  });
  new Gauge({
    name: 'hubstream_realtime_apps_loaded',
    help: 'Apps whose settings and rules this node has loaded.',
    registers: [metrics],
    async collect() {
      this.set((await options.registry.loaded().catch(() => [])).length);
    },
  });

  const byTopic = (tally: { entries(): [string, number][] }): Sample[] =>
    tally.entries().map(([topic, n]) => [{ topic }, n]);
  counterFrom(
    metrics,
    'hubstream_realtime_messages_received_total',
    'Messages from logged-in clients by topic, also those then refused.',
    ['topic'],
    () => byTopic(counters.messagesIn),
  );
  counterFrom(
    metrics,
    'hubstream_realtime_messages_sent_total',
    'Messages sent to clients by topic; each copy of a fan-out counts.',
    ['topic'],
    () => byTopic(counters.messagesOut),
  );
  counterFrom(
    metrics,
    'hubstream_realtime_permission_denials_total',
    'Actions refused by the apps\' permission rules, by topic; verdict "error" when a rule failed to evaluate.',
    ['topic', 'verdict'],
    () => [
      ...counters.denied.entries().map(([topic, n]): Sample => [{ topic, verdict: 'denied' }, n]),
      ...counters.permissionErrors
        .entries()
        .map(([topic, n]): Sample => [{ topic, verdict: 'error' }, n]),
    ],
  );
  counterFrom(
    metrics,
    'hubstream_realtime_auth_failures_total',
    'Failed logins by reason: rejected, type_not_enabled, no_strategy_enabled, invalid_auth_data, throttled, strategy_error, invalid_message, timeout.',
    ['reason'],
    () => counters.authFailures.entries().map(([reason, n]): Sample => [{ reason }, n]),
  );
  counterFrom(
    metrics,
    'hubstream_realtime_rate_limited_total',
    "Connections, messages and rules' record loads refused by an app's limits, by limit.",
    ['limit'],
    () => counters.rateLimited.entries().map(([limit, n]): Sample => [{ limit }, n]),
  );
  counterFrom(
    metrics,
    'hubstream_realtime_protocol_errors_total',
    'Frames refused before any handler saw them (too large, unparsable, unknown topic, text), by kind.',
    ['kind'],
    () => counters.protocolErrors.entries().map(([kind, n]): Sample => [{ kind }, n]),
  );
  counterFrom(
    metrics,
    'hubstream_realtime_guard_closes_total',
    'Connections the node closed to protect itself, by reason: slow_consumer, pre_login_queue, pre_login_message_size, unauthenticated_per_app, unauthenticated_per_address.',
    ['reason'],
    () => counters.guardCloses.entries().map(([reason, n]): Sample => [{ reason }, n]),
  );
  counterFrom(
    metrics,
    'hubstream_realtime_handler_errors_total',
    'Messages whose handling threw (logged as "message handling failed").',
    [],
    () => [[{}, counters.handlerErrors]],
  );

  // Unknown (NaN) when the store cannot say (Redis away): the scrape still
  // answers, with everything else, when it matters most.
  const UNKNOWN: PersistenceLag = {
    unpersistedRecords: Number.NaN,
    oldestUnpersistedMs: Number.NaN,
    awaitingBatch: Number.NaN,
  };
  let pending: Promise<PersistenceLag> | null = null;
  // One read of the store per scrape, shared by the three gauges.
  const lagOnce = () => {
    pending ??= options
      .persistenceLag()
      .catch(() => UNKNOWN)
      .finally(() => {
        pending = null;
      });
    return pending;
  };
  new Gauge({
    name: 'hubstream_records_unpersisted',
    help: 'Records this node wrote that are not known to be in Postgres yet.',
    registers: [metrics],
    async collect() {
      this.set((await lagOnce()).unpersistedRecords);
    },
  });
  new Gauge({
    name: 'hubstream_records_oldest_unpersisted_seconds',
    help: 'Age of the oldest record write of this node not yet in Postgres (the persistence lag); 0 when none.',
    registers: [metrics],
    async collect() {
      this.set((await lagOnce()).oldestUnpersistedMs / 1000);
    },
  });
  new Gauge({
    name: 'hubstream_records_awaiting_batch',
    help: 'Record writes this node has not handed to the job queue yet.',
    registers: [metrics],
    async collect() {
      this.set((await lagOnce()).awaitingBatch);
    },
  });

  // Only a clustered node has a bus between processes to measure.
  if (options.bus instanceof RedisBus) {
    const busLag = new Histogram({
      name: 'hubstream_bus_delivery_lag_seconds',
      help: "Time from another node's publish to delivery here over the Redis bus (includes the two machines' clock difference).",
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [metrics],
    });
    const stop = options.bus.onDeliveryLag((ms) => busLag.observe(ms / 1000));
    app.addHook('onClose', async () => stop());
  }

  options.httpApi.register(metrics);
  registerMetricsRoute(app, { registry: metrics, token: options.token });
}
