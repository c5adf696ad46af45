import type { BusEnvelope, BusHandler, BusTopic, BusTopics, ClusterBus } from './bus.ts';

type AnyHandler = (message: BusEnvelope) => void;

/** In-process bus: delivery is asynchronous, in publish order. */
export class LocalBus implements ClusterBus {
  readonly nodeId: string;
  readonly isClustered = false;
  readonly #handlers = new Map<BusTopic, Set<AnyHandler>>();
  #onError: (error: unknown) => void;

  constructor(options: { nodeId: string; onHandlerError?: (error: unknown) => void }) {
    this.nodeId = options.nodeId;
    this.#onError = options.onHandlerError ?? (() => {});
  }

  async publish<T extends BusTopic>(appId: string, topic: T, payload: BusTopics[T]): Promise<void> {
    this.deliver({ appId, topic, payload, origin: this.nodeId });
  }

  async publishRemote<T extends BusTopic>(
    _appId: string,
    _topic: T,
    _payload: BusTopics[T],
  ): Promise<void> {}

  async sendTo<T extends BusTopic>(
    nodeId: string,
    appId: string,
    topic: T,
    payload: BusTopics[T],
  ): Promise<void> {
    if (nodeId === this.nodeId) this.deliver({ appId, topic, payload, origin: nodeId, to: nodeId });
  }

  /** Hands a message (local, or from another node) to this node's subscribers. */
  deliver(message: BusEnvelope): void {
    const handlers = [...(this.#handlers.get(message.topic) ?? [])];
    queueMicrotask(() => {
      for (const handler of handlers) {
        try {
          handler(message);
        } catch (error) {
          // One subscriber's bug must not stop the others from hearing it.
          this.#onError(error);
        }
      }
    });
  }

  subscribe<T extends BusTopic>(topic: T, handler: BusHandler<T>): () => void {
    const set = this.#handlers.get(topic) ?? new Set<AnyHandler>();
    set.add(handler as AnyHandler);
    this.#handlers.set(topic, set);
    return () => set.delete(handler as AnyHandler);
  }

  /** In one process nothing is ever missed: the listener is never called. */
  onResubscribed(_listener: () => void): () => void {
    return () => {};
  }

  async close(): Promise<void> {
    this.#handlers.clear();
  }
}
