import type { BusEnvelope, ClusterBus } from '@hubstream/cluster';
import { CLOSE_CODES } from '@hubstream/protocol';
import { compilePermissions, type Permissions } from '@hubstream/valve';
import { routeListening } from '../listen/listen-routes.ts';
import { refuseRemoteRequest } from '../rpc/rpc-handler.ts';
import { AppRuntime, type NodeServices } from './app-runtime.ts';

/**
 * The apps this node serves, loaded from the database on first use and
 * reloaded when the control plane announces a change on the bus.
 */
export class AppRegistry {
  readonly #node: NodeServices;
  readonly #runtimes = new Map<string, Promise<AppRuntime | null>>();
  readonly #unsubscribe: (() => void)[];

  constructor(node: NodeServices, bus: ClusterBus) {
    this.#node = node;
    this.#unsubscribe = [
      bus.subscribe('app.changed', (message) => {
        this.#changed(message).catch((error: unknown) =>
          node.log.error({ err: error, app: message.appId }, 'reloading an app failed'),
        );
      }),
      // Traffic from other nodes matters only to apps loaded here.
      bus.subscribe('event.emit', (message) => {
        this.#ifLoaded(message.appId, (runtime) => runtime.events.deliverRemote(message.payload));
      }),
      bus.subscribe('presence.changed', ({ appId, payload }) => {
        this.#ifLoaded(appId, (runtime) =>
          runtime.presence.presenceChanged(payload.user, payload.online),
        );
      }),
      // Records other nodes changed, in the order the store accepted them.
      node.records.watch((change) => {
        if (change.kind === 'missed') {
          this.loaded().then(
            (runtimes) => {
              for (const runtime of runtimes) runtime.records.changedElsewhere(change);
            },
            () => {},
          );
        } else {
          this.#ifLoaded(change.appId, (runtime) => runtime.records.changedElsewhere(change));
        }
      }),
      // RPC traffic sent to this node (bus.sendTo). A call offered where its
      // app is not loaded finds no provider: the requester's node moves on.
      bus.subscribe('rpc.request', (message) => {
        const loaded = this.#runtimes.get(message.appId) ?? Promise.resolve(null);
        loaded.then(
          (runtime) => {
            if (runtime) runtime.rpc.requestFromNode(message.origin, message.payload);
            else refuseRemoteRequest(bus, message);
          },
          () => refuseRemoteRequest(bus, message),
        );
      }),
      bus.subscribe('rpc.reply', ({ appId, origin, payload }) => {
        this.#ifLoaded(appId, (runtime) => runtime.rpc.replyFromNode(origin, payload));
      }),
      bus.subscribe('rpc.cancel', ({ appId, origin, payload }) => {
        this.#ifLoaded(appId, (runtime) => runtime.rpc.cancelFromNode(origin, payload.id));
      }),
      bus.subscribe('node.dead', ({ payload }) => {
        if (payload.node === bus.nodeId) return;
        this.loaded().then(
          (runtimes) => {
            for (const runtime of runtimes) runtime.rpc.nodeDead(payload.node);
          },
          () => {},
        );
      }),
      // Listen offers, answers, providers and dead nodes, to the listen registries.
      ...routeListening(
        bus,
        node.listeners,
        (appId, use) => this.#ifLoaded(appId, use),
        (use) => {
          this.loaded().then(
            (runtimes) => runtimes.forEach(use),
            () => {},
          );
        },
      ),
    ];
  }

  /** The app's runtime, or null when there is no such app. */
  get(appId: string): Promise<AppRuntime | null> {
    let runtime = this.#runtimes.get(appId);
    if (!runtime) {
      runtime = this.#load(appId);
      this.#runtimes.set(appId, runtime);
      // Unknown apps are not remembered: they may be created a moment later.
      runtime.then(
        (r) => {
          if (!r) this.#runtimes.delete(appId);
        },
        () => this.#runtimes.delete(appId),
      );
    }
    return runtime;
  }

  /** Runtimes already loaded (for metrics and shutdown). */
  async loaded(): Promise<AppRuntime[]> {
    const all = await Promise.all([...this.#runtimes.values()]);
    return all.filter((r): r is AppRuntime => r !== null);
  }

  #ifLoaded(appId: string, use: (runtime: AppRuntime) => void) {
    this.#runtimes.get(appId)?.then((runtime) => {
      if (runtime) use(runtime);
    });
  }

  async close(): Promise<void> {
    for (const unsubscribe of this.#unsubscribe) unsubscribe();
    for (const runtime of await this.loaded())
      runtime.shutdown(CLOSE_CODES.GOING_AWAY, 'node shutting down');
    this.#runtimes.clear();
  }

  async #fetch(appId: string) {
    return this.#node.prisma.app.findUnique({
      where: { id: appId },
      include: { authSettings: true, activePermissionVersion: true, limits: true },
    });
  }

  #compile(appId: string, source: string | undefined): Permissions | null {
    if (source === undefined) return null;
    const result = compilePermissions(source);
    if (result.ok) return result.permissions;
    // Only checked files are stored, so this means the checker got stricter.
    this.#node.log.error(
      { app: appId, errors: result.errors.length },
      'active permissions no longer compile: denying all',
    );
    return null;
  }

  async #load(appId: string): Promise<AppRuntime | null> {
    const app = await this.#fetch(appId);
    if (!app) return null;
    const auth =
      app.authSettings ??
      (await this.#node.prisma.appAuthSettings.upsert({
        where: { appId },
        create: { appId },
        update: {},
      }));
    return new AppRuntime({
      appId,
      auth,
      permissions: this.#compile(appId, app.activePermissionVersion?.source),
      node: this.#node,
      limits: app.limits,
    });
  }

  async #changed(message: BusEnvelope<'app.changed'>) {
    const loaded = this.#runtimes.get(message.appId);
    if (!loaded) return;
    const runtime = await loaded;
    if (!runtime) return;
    const app = message.payload.what === 'deleted' ? null : await this.#fetch(message.appId);
    if (!app) {
      this.#runtimes.delete(message.appId);
      runtime.shutdown(CLOSE_CODES.APP_DELETED, 'app deleted');
      return;
    }
    if (app.authSettings) runtime.replaceAuth(app.authSettings);
    if (message.payload.what === 'limits') runtime.replaceLimits(app.limits);
    if (message.payload.what === 'permissions') {
      await runtime.replacePermissions(
        this.#compile(message.appId, app.activePermissionVersion?.source),
      );
    }
  }
}
