import { EventHandler } from '../events/event-handler.ts';
import { PresenceHandler } from '../presence/presence-handler.ts';
import { RecordHandler } from '../records/record-handler.ts';
import { RpcHandler } from '../rpc/rpc-handler.ts';
import type { Composition, HandlerFactory } from './composition.ts';
import { connectionLimit, nodeMetrics, usageCounting } from './observers.ts';

// The composition root of an app's runtime: which topic handlers it has and
// what observes its hooks. The runtime receives these (app.ts passes them to
// the registry); core/ and the handlers never import the runtime, and the
// runtime never names a handler's class.

export const topicHandlers: HandlerFactory = (scope) => ({
  events: new EventHandler(scope),
  records: new RecordHandler(scope),
  rpc: new RpcHandler(scope),
  presence: new PresenceHandler(scope),
});

/** What a realtime node's apps are made of. */
export const realtimeComposition: Composition = {
  handlers: topicHandlers,
  extensions: [usageCounting, nodeMetrics, connectionLimit],
};
