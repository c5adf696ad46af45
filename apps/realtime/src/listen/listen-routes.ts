import type { ClusterBus, ListenerRegistry, ListenTopic } from '@hubstream/cluster';
import type { ListenRegistry } from './listen-registry.ts';

/** What the routes need of an app loaded here: its two listen registries. */
export type ListeningApp = {
  readonly events: { readonly listeners: ListenRegistry };
  readonly records: { readonly listeners: ListenRegistry };
};

type Loaded = (appId: string, use: (runtime: ListeningApp) => void) => void;
type EveryLoaded = (use: (runtime: ListeningApp) => void) => void;

const registryOf = (runtime: ListeningApp, topic: ListenTopic): ListenRegistry =>
  topic === 'event' ? runtime.events.listeners : runtime.records.listeners;

/**
 * Hands listening traffic from other nodes to the app's listen registries on
 * this node (apps not loaded here have no listeners or subscribers here).
 * Returns the functions that unsubscribe.
 */
export function routeListening(
  bus: ClusterBus,
  registry: ListenerRegistry,
  ifLoaded: Loaded,
  everyLoaded: EveryLoaded,
) {
  return [
    // Offers in flight may be lost when Redis restarts (or this node was declared dead).
    registry.onRestored(() => {
      everyLoaded((runtime) => {
        runtime.events.listeners.reconcile();
        runtime.records.listeners.reconcile();
      });
    }),
    // An app not loaded here has no listener here: such an offer times out.
    bus.subscribe('listen.offer', ({ appId, origin, payload }) => {
      ifLoaded(appId, (runtime) => registryOf(runtime, payload.topic).offered(payload, origin));
    }),
    bus.subscribe('listen.answer', ({ appId, payload }) => {
      ifLoaded(appId, (runtime) => registryOf(runtime, payload.topic).answered(payload));
    }),
    bus.subscribe('listen.provider', ({ appId, payload }) => {
      ifLoaded(appId, (runtime) =>
        registryOf(runtime, payload.topic).providerChanged(payload.name, payload.provided),
      );
    }),
    bus.subscribe('listen.gone', ({ appId, payload }) => {
      ifLoaded(appId, (runtime) => registryOf(runtime, payload.topic).gone(payload));
    }),
    bus.subscribe('node.dead', ({ payload }) => {
      if (payload.node === bus.nodeId) return;
      everyLoaded((runtime) => {
        runtime.events.listeners.nodeDead(payload.node);
        runtime.records.listeners.nodeDead(payload.node);
      });
    }),
  ];
}
