// What the two threads of `pnpm start` use of each other's, each as the
// interface its user already takes, every call crossing (ThreadCalls): the
// control plane's thread (control-plane-thread.ts) uses the main thread's
// in-process bus and the realtime node's data API; the main thread uses
// the job queue, which runs its jobs in the control plane's thread, beside
// the database they work on.

import type {
  BusEnvelope,
  BusHandler,
  BusTopic,
  BusTopics,
  ClusterBus,
  JobQueue,
} from '@hubstream/cluster';
import type { RealtimeDataTransport } from '@hubstream/control-plane';
import type { ThreadCalls } from '@hubstream/service';

/** Main thread: offers `bus` and the realtime node's data API to the control plane's thread. */
export function serveBridges(
  calls: ThreadCalls,
  bridged: { bus: ClusterBus; realtimeData: RealtimeDataTransport },
): { close(): void } {
  const { bus, realtimeData } = bridged;
  const forwarding = new Map<BusTopic, () => void>();
  const resubscribed: (() => void)[] = [];
  calls.handle('bus.publish', (appId: string, topic: BusTopic, payload: BusTopics[BusTopic]) =>
    bus.publish(appId, topic, payload),
  );
  calls.handle(
    'bus.publishRemote',
    (appId: string, topic: BusTopic, payload: BusTopics[BusTopic]) =>
      bus.publishRemote(appId, topic, payload),
  );
  calls.handle(
    'bus.sendTo',
    (nodeId: string, appId: string, topic: BusTopic, payload: BusTopics[BusTopic]) =>
      bus.sendTo(nodeId, appId, topic, payload),
  );
  // The other thread hears a topic once it subscribes to it, until it has no subscriber left.
  calls.handle('bus.subscribe', (topic: BusTopic) => {
    if (forwarding.has(topic)) return;
    forwarding.set(
      topic,
      bus.subscribe(topic, (message) => calls.notify('bus.message', message)),
    );
  });
  calls.handle('bus.unsubscribe', (topic: BusTopic) => {
    forwarding.get(topic)?.();
    forwarding.delete(topic);
  });
  calls.handle('bus.onResubscribed', () => {
    if (resubscribed.length === 0)
      resubscribed.push(bus.onResubscribed(() => calls.notify('bus.resubscribed')));
  });
  calls.handle('realtime.data', (appId: string, request: Parameters<RealtimeDataTransport>[1]) =>
    realtimeData(appId, request),
  );
  return {
    close() {
      for (const stop of forwarding.values()) stop();
      forwarding.clear();
      for (const stop of resubscribed.splice(0)) stop();
    },
  };
}

/** Control plane's thread: offers its job queue to the main thread (ThreadJobQueue). */
export function serveJobs(calls: ThreadCalls, jobs: JobQueue): void {
  calls.handle('jobs.enqueue', (name: string, payload: unknown) => jobs.enqueue(name, payload));
}

/** The main thread's bus, from the control plane's thread. */
export class ThreadBus implements ClusterBus {
  readonly nodeId: string;
  readonly isClustered: boolean;
  readonly #calls: ThreadCalls;
  readonly #handlers = new Map<BusTopic, Set<(message: BusEnvelope) => void>>();
  readonly #resubscribed = new Set<() => void>();
  readonly #onError: (error: unknown) => void;

  /**
   * `onHandlerError` hears what a subscriber (or a resubscription listener)
   * threw, as LocalBus' does: the others still hear the message, and the
   * error does not escape as an unhandled rejection, which would end the
   * thread (and with it `pnpm start`).
   */
  constructor(
    calls: ThreadCalls,
    main: { nodeId: string; isClustered: boolean },
    options: { onHandlerError?: (error: unknown) => void } = {},
  ) {
    this.#calls = calls;
    this.nodeId = main.nodeId;
    this.isClustered = main.isClustered;
    this.#onError = options.onHandlerError ?? (() => {});
    calls.handle('bus.message', (message: BusEnvelope) => {
      for (const handler of [...(this.#handlers.get(message.topic) ?? [])]) {
        this.#guarded(() => handler(message));
      }
    });
    calls.handle('bus.resubscribed', () => {
      for (const listener of [...this.#resubscribed]) this.#guarded(listener);
    });
  }

  /** Runs one subscriber: its bug must not stop the others from hearing the message. */
  #guarded(run: () => void): void {
    try {
      run();
    } catch (error) {
      this.#onError(error);
    }
  }

  publish<T extends BusTopic>(appId: string, topic: T, payload: BusTopics[T]): Promise<void> {
    return this.#calls.call('bus.publish', appId, topic, payload);
  }

  publishRemote<T extends BusTopic>(appId: string, topic: T, payload: BusTopics[T]): Promise<void> {
    return this.#calls.call('bus.publishRemote', appId, topic, payload);
  }

  sendTo<T extends BusTopic>(
    nodeId: string,
    appId: string,
    topic: T,
    payload: BusTopics[T],
  ): Promise<void> {
    return this.#calls.call('bus.sendTo', nodeId, appId, topic, payload);
  }

  subscribe<T extends BusTopic>(topic: T, handler: BusHandler<T>): () => void {
    let set = this.#handlers.get(topic);
    if (!set) {
      set = new Set();
      this.#handlers.set(topic, set);
      this.#calls.notify('bus.subscribe', topic);
    }
    const added = handler as (message: BusEnvelope) => void;
    set.add(added);
    return () => {
      set.delete(added);
      if (set.size === 0 && this.#handlers.get(topic) === set) {
        this.#handlers.delete(topic);
        this.#calls.notify('bus.unsubscribe', topic);
      }
    };
  }

  onResubscribed(listener: () => void): () => void {
    if (this.#resubscribed.size === 0) this.#calls.notify('bus.onResubscribed');
    this.#resubscribed.add(listener);
    return () => this.#resubscribed.delete(listener);
  }

  async close(): Promise<void> {
    this.#handlers.clear();
    this.#resubscribed.clear();
  }
}

/** The job queue of the control plane's thread, from the main thread (which runs no jobs). */
export class ThreadJobQueue implements JobQueue {
  readonly #calls: ThreadCalls;
  constructor(calls: ThreadCalls) {
    this.#calls = calls;
  }
  enqueue(name: string, payload: unknown): Promise<void> {
    return this.#calls.call('jobs.enqueue', name, payload);
  }
  /** The queue is the other thread's: it closes there. */
  async close(): Promise<void> {}
}

/** The realtime node's data API (the dashboard's data browser), in the main thread. */
export function threadRealtimeData(calls: ThreadCalls): RealtimeDataTransport {
  return (appId, request) => calls.call('realtime.data', appId, request);
}
