import type { Redis, RedisOptions } from 'ioredis';
import { newRedis } from '../redis-modules.ts';
import type { BusEnvelope, BusHandler, BusTopic, BusTopics, ClusterBus } from './bus.ts';
import { LocalBus } from './local.ts';

// The cluster bus over Redis pub/sub. Every message is delivered locally at
// once (as LocalBus does) and published on the app's channel
// `{prefix}hs:{appId}:bus`; messages coming back from Redis with this node's
// id are its own echoes and are dropped, so every subscriber on every node
// sees each message exactly once. Publishes made in the same tick go out in
// one write. Each message carries the sender's clock at publish (`s`,
// ms since the epoch), so the receiver can tell how long delivery took (the
// bus lag metric; across machines it includes their clock difference).

type Wire = { o: string; t: BusTopic; p: unknown; d?: string; s?: number };
type Corkable = { cork?(): void; uncork?(): void } | undefined;

/** Told, for each message from another node, how long it took from publish to delivery. */
export type DeliveryLagObserver = (lagMs: number, topic: BusTopic) => void;

export type RedisBusOptions = {
  nodeId: string;
  url: string;
  /** Prepended to every channel; tests give each run its own. */
  keyPrefix?: string;
  onHandlerError?: (error: unknown) => void;
  redisOptions?: RedisOptions;
};

export class RedisBus implements ClusterBus {
  readonly nodeId: string;
  readonly isClustered = true;
  readonly #local: LocalBus;
  readonly #publisher: Redis;
  readonly #subscriber: Redis;
  readonly #prefix: string;
  readonly #pattern: string;
  #batch: [string, string][] = [];
  #flushing: Promise<void> | null = null;
  readonly #ready: Promise<unknown>;
  readonly #lagObservers = new Set<DeliveryLagObserver>();
  readonly #resubscribed = new Set<() => void>();
  #connectedBefore = false;
  #closed = false;

  constructor(options: RedisBusOptions) {
    this.nodeId = options.nodeId;
    this.#prefix = options.keyPrefix ?? '';
    this.#pattern = `${this.#prefix}hs:*:bus`;
    this.#local = new LocalBus({
      nodeId: options.nodeId,
      ...(options.onHandlerError ? { onHandlerError: options.onHandlerError } : {}),
    });
    const redisOptions = { maxRetriesPerRequest: null, ...options.redisOptions };
    // Named so that CLIENT LIST tells which node's bus a connection is.
    const name = (role: string) =>
      options.redisOptions?.connectionName ??
      `${this.#prefix}hs:bus-${role}:${options.nodeId}`.replace(/[^\x21-\x7e]/g, '_');
    this.#publisher = newRedis(options.url, {
      ...redisOptions,
      connectionName: name('publisher'),
    });
    this.#subscriber = newRedis(options.url, {
      ...redisOptions,
      connectionName: name('subscriber'),
    });
    this.#subscriber.on('pmessage', (_pattern: string, channel: string, raw: string) =>
      this.#receive(channel, raw),
    );
    this.#ready = this.#subscriber.psubscribe(this.#pattern);
    this.#subscriber.on('ready', () => {
      if (!this.#connectedBefore) {
        this.#connectedBefore = true;
        return;
      }
      this.#afterReconnect();
    });
  }

  /**
   * ioredis subscribes again by itself after a reconnect, but announces
   * 'ready' before it does: our own (idempotent) PSUBSCRIBE, answered in
   * order, says the subscription is back before the listeners re-read.
   */
  #afterReconnect() {
    this.#subscriber.psubscribe(this.#pattern).then(
      () => {
        if (this.#closed) return;
        for (const listener of this.#resubscribed) {
          try {
            listener();
          } catch {
            // One listener's failure must not keep the others from re-reading.
          }
        }
      },
      // The connection broke again: the next 'ready' tries again.
      () => {},
    );
  }

  /** Resolves once this node hears the cluster. */
  ready(): Promise<unknown> {
    return this.#ready;
  }

  async publish<T extends BusTopic>(appId: string, topic: T, payload: BusTopics[T]): Promise<void> {
    await this.#local.publish(appId, topic, payload);
    await this.publishRemote(appId, topic, payload);
  }

  async publishRemote<T extends BusTopic>(
    appId: string,
    topic: T,
    payload: BusTopics[T],
  ): Promise<void> {
    await this.#enqueue(appId, { o: this.nodeId, t: topic, p: payload, s: Date.now() });
  }

  async #enqueue(appId: string, wire: Wire): Promise<void> {
    this.#batch.push([`${this.#prefix}hs:${appId}:bus`, JSON.stringify(wire)]);
    this.#flushing ??= Promise.resolve().then(() => this.#flush());
    await this.#flushing;
  }

  async sendTo<T extends BusTopic>(
    nodeId: string,
    appId: string,
    topic: T,
    payload: BusTopics[T],
  ): Promise<void> {
    if (nodeId === this.nodeId) return this.#local.sendTo(nodeId, appId, topic, payload);
    // On the app's channel like the rest; every node but `nodeId` drops it.
    const wire: Wire = { o: this.nodeId, t: topic, p: payload, d: nodeId, s: Date.now() };
    await this.#enqueue(appId, wire);
  }

  subscribe<T extends BusTopic>(topic: T, handler: BusHandler<T>): () => void {
    return this.#local.subscribe(topic, handler);
  }

  /** Watches the delivery lag of messages from other nodes; returns the function that stops. */
  onDeliveryLag(observer: DeliveryLagObserver): () => void {
    this.#lagObservers.add(observer);
    return () => this.#lagObservers.delete(observer);
  }

  onResubscribed(listener: () => void): () => void {
    this.#resubscribed.add(listener);
    return () => this.#resubscribed.delete(listener);
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#flushing;
    await this.#local.close();
    this.#subscriber.disconnect();
    await this.#publisher.quit();
  }

  /**
   * The tick's publishes in one write: the socket corked around them. Not an
   * ioredis pipeline: its constructor copies every script and command defined
   * on the connection onto the new object, and the bus made one for every
   * event that crossed nodes (bench:attacks listen patterns, cluster: 17 ms
   * of a run's main thread in Pipeline's constructor alone, and its garbage).
   * As with the pipeline, a publish that fails fails quietly here.
   */
  async #flush(): Promise<void> {
    const batch = this.#batch;
    this.#batch = [];
    this.#flushing = null;
    const publisher = this.#publisher;
    const socket = publisher.status === 'ready' ? (publisher.stream as Corkable) : undefined;
    const corked = typeof socket?.cork === 'function' && typeof socket.uncork === 'function';
    if (corked) socket!.cork!();
    let sent: Promise<number>[];
    try {
      sent = batch.map(([channel, message]) => publisher.publish(channel, message));
    } finally {
      if (corked) socket!.uncork!();
    }
    await Promise.allSettled(sent);
  }

  #receive(channel: string, raw: string) {
    const start = this.#prefix.length + 3; // after "{prefix}hs:"
    const appId = channel.slice(start, channel.length - 4); // before ":bus"
    let wire: Wire;
    try {
      wire = JSON.parse(raw) as Wire;
    } catch {
      return;
    }
    if (wire.o === this.nodeId) return;
    if (wire.d !== undefined && wire.d !== this.nodeId) return;
    // Older nodes send no timestamp; a clock behind the sender's reads as 0.
    if (typeof wire.s === 'number' && this.#lagObservers.size > 0) {
      const lag = Math.max(0, Date.now() - wire.s);
      for (const observe of this.#lagObservers) observe(lag, wire.t);
    }
    const envelope: BusEnvelope = {
      appId,
      topic: wire.t,
      payload: wire.p as BusTopics[BusTopic],
      origin: wire.o,
      ...(wire.d === undefined ? {} : { to: wire.d }),
    };
    this.#local.deliver(envelope);
  }
}
