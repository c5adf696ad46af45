import type { Connection } from '../core/connection.ts';
import type { Extension } from '../core/lifecycle.ts';
import type { ObservedApp } from './composition.ts';

// What observes an app's lifecycle hooks (core/lifecycle.ts) instead of being
// written into the connection: the app's usage (reported to the worker), the
// node's metrics (scraped from NodeCounters) and the app's connection limit
// (a place given back when a connection goes). Each is made once per app;
// the per-message hooks only add to a number.

/** The app's usage since its last report (usage-reporter.ts). */
export function usageCounting(runtime: ObservedApp): Extension<Connection> {
  const usage = runtime.usage;
  return {
    messageReceived: () => {
      usage.messagesIn++;
    },
    messageSent: () => {
      usage.messagesOut++;
    },
    messageDenied: () => {
      usage.denied++;
    },
    limited: () => {
      usage.rateLimited++;
    },
    protocolError: () => {
      usage.rejected++;
    },
    authFailed: () => {
      usage.authFailures++;
    },
  };
}

/** The node's Prometheus counters (metrics.ts reads them at scrape time). */
export function nodeMetrics(runtime: ObservedApp): Extension<Connection> {
  const counters = runtime.node.counters;
  return {
    messageReceived: (_connection, topic) => counters.messagesIn.add(topic),
    messageSent: (_connection, topic) => counters.messagesOut.add(topic),
    messageDenied: (_connection, topic, verdict) =>
      (verdict === 'denied' ? counters.denied : counters.permissionErrors).add(topic),
    limited: (limit) => counters.rateLimited.add(limit),
    protocolError: (_connection, kind) => counters.protocolErrors.add(kind),
    authFailed: (reason) => counters.authFailures.add(reason),
    guardClosed: (reason) => counters.guardCloses.add(reason),
    handlerFailed: () => {
      counters.handlerErrors++;
    },
  };
}

/** The app's connection limit: a connection that goes gives its place back. */
export function connectionLimit(runtime: ObservedApp): Extension<Connection> {
  return {
    connectionClosed: (connection) => runtime.limiter.release(connection),
  };
}
