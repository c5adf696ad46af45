import { CLUSTER_SCOPE, type ClusterBus } from '../bus/bus.ts';
import type { ClusterLogger } from '../logger.ts';
import type { NodeOwnedState, NodeRegistry } from './node-registry.ts';
import { NodeWatch } from './node-watch.ts';

/**
 * A clustered node's life in the node registry: it beats while it listens;
 * it removes what dead nodes registered (every registry of `owned`) and then
 * tells every node with 'node.dead'; a graceful stop removes its own
 * registrations and leaves the registry at once instead of waiting to expire.
 */
export class NodeLifecycle {
  readonly #registry: NodeRegistry;
  readonly #owned: readonly NodeOwnedState[];
  readonly #bus: ClusterBus;
  readonly #log: ClusterLogger;
  readonly #watch: NodeWatch;

  constructor(options: {
    registry: NodeRegistry;
    owned: readonly NodeOwnedState[];
    bus: ClusterBus;
    intervalMs: number;
    log: ClusterLogger;
  }) {
    this.#registry = options.registry;
    this.#owned = options.owned;
    this.#bus = options.bus;
    this.#log = options.log;
    this.#watch = new NodeWatch({
      registry: options.registry,
      intervalMs: options.intervalMs,
      cleanUp: (node) => this.#cleanUp(node),
      revived: () => this.#revived(),
      onError: (error, what) => this.#log.error({ err: error }, `${what} failed`),
    });
  }

  start(): Promise<void> {
    return this.#watch.start();
  }

  /**
   * Stops beating without leaving, as a node stalled by a long pause would
   * (for tests): the others declare it dead; `start` again brings it back.
   */
  halt(): Promise<void> {
    return this.#watch.stop({ deregister: false });
  }

  /** Graceful stop: after the node's connections closed, before its Redis connection does. */
  async stop(): Promise<void> {
    await this.#watch.stop({ deregister: false });
    try {
      // Whatever the closed connections did not take back themselves.
      await this.#removeEverywhere(this.#registry.nodeId);
    } finally {
      await this.#registry.deregister();
    }
  }

  async #removeEverywhere(node: string) {
    const results = await Promise.allSettled(this.#owned.map((state) => state.removeNode(node)));
    const failed = results.filter((r) => r.status === 'rejected');
    if (failed.length > 0) throw (failed[0] as PromiseRejectedResult).reason;
    await this.#bus.publish(CLUSTER_SCOPE, 'node.dead', { node });
  }

  async #cleanUp(node: string) {
    this.#log.warn(
      { deadNode: node },
      'a realtime node stopped beating: removing its registrations',
    );
    await this.#removeEverywhere(node);
  }

  async #revived() {
    this.#log.warn(
      { nodeId: this.#registry.nodeId },
      'this node was declared dead: writing its registrations back',
    );
    await Promise.all(this.#owned.map((state) => state.restore?.()));
  }
}
