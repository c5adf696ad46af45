import type { ClusterBus } from '@hubstream/cluster';
import { appConfigVersions, ensureAuthSettings, readAppConfig } from '@hubstream/db';
import { CLOSE_CODES } from '@hubstream/protocol';
import { compilePermissions, type Permissions } from '@hubstream/valve';
import type { NodeServices } from '../core/app-scope.ts';
import { routeListening } from '../listen/listen-routes.ts';
import { refuseRemoteRequest } from '../rpc/rpc-replies.ts';
import { AppRuntime } from './app-runtime.ts';
import type { Composition } from './composition.ts';

export type AppRegistryOptions = {
  /** What each app's runtime is made of: its topic handlers and observers (runtime/handlers.ts). */
  compose: Composition;
  /**
   * How often to compare every loaded app's config version with the
   * database's (APP_FRESHNESS_CHECK_INTERVAL_MS); 0 or unset: never.
   */
  freshnessCheckIntervalMs?: number;
};

/** What a loaded runtime was built from, to tell what a reload must replace. */
type LoadedFrom = { version: bigint; permissionVersionId: string | null; limits: string };

/** Ids per freshness query (far below Postgres's bind-parameter limit). */
const FRESHNESS_BATCH = 1000;

/** An app's own limits as a comparable string (their updatedAt aside). */
const limitsKey = (limits: { updatedAt?: Date } | null) => {
  if (!limits) return 'null';
  const { updatedAt: _updatedAt, ...own } = limits;
  return JSON.stringify(own);
};

/**
 * The apps this node serves, loaded from the database on first use and
 * reloaded when the control plane announces a change on the bus. An
 * announcement can be lost (the node's Redis subscription broke for a
 * moment), so every app is also re-read when the subscription comes back,
 * and the apps' config versions (bumped by the database on any change) are
 * compared every `freshnessCheckIntervalMs`: a lost change is in force
 * within that bound.
 */
export class AppRegistry {
  readonly #node: NodeServices;
  readonly #compose: Composition;
  readonly #runtimes = new Map<string, Promise<AppRuntime | null>>();
  readonly #loadedFrom = new Map<string, LoadedFrom>();
  /** Per app, the reload running and whether another must follow it. */
  readonly #reloads = new Map<string, { running: Promise<void>; again: boolean }>();
  readonly #unsubscribe: (() => void)[];
  #checking: Promise<void> | null = null;

  constructor(node: NodeServices, bus: ClusterBus, options: AppRegistryOptions) {
    this.#node = node;
    this.#compose = options.compose;
    this.#unsubscribe = [
      bus.subscribe('app.changed', (message) => {
        const { what, version } = message.payload;
        if (what !== 'deleted') {
          // Loaded at the announced config version or later: nothing to reload.
          const loadedAt = this.#loadedFrom.get(message.appId)?.version;
          const announced = version !== undefined && /^\d+$/.test(version) ? BigInt(version) : null;
          if (announced !== null && loadedAt !== undefined && loadedAt >= announced) return;
          this.#reload(message.appId);
        } else {
          this.#deleted(message.appId).catch((error: unknown) =>
            node.log.error({ err: error, app: message.appId }, 'closing a deleted app failed'),
          );
        }
      }),
      // Announcements sent while the subscription was down are lost: re-read everything.
      bus.onResubscribed(() => {
        node.log.info({ apps: this.#loadedFrom.size }, 'bus reconnected: re-reading every app');
        for (const appId of this.#loadedFrom.keys()) this.#reload(appId);
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
    const every = options.freshnessCheckIntervalMs ?? 0;
    if (every > 0) {
      const timer = setInterval(() => {
        this.checkFreshness().catch((error: unknown) =>
          node.log.warn({ err: error }, 'checking the apps for changes failed'),
        );
      }, every);
      timer.unref();
      this.#unsubscribe.push(() => clearInterval(timer));
    }
  }

  /**
   * Reloads every loaded app whose config version in the database is not
   * the one it was built from (or that is gone): one query per thousand apps.
   * Resolves when those reloads are done.
   */
  checkFreshness(): Promise<void> {
    this.#checking ??= this.#checkFreshness().finally(() => {
      this.#checking = null;
    });
    return this.#checking;
  }

  async #checkFreshness(): Promise<void> {
    const ids = [...this.#loadedFrom.keys()];
    const stale: Promise<void>[] = [];
    for (let i = 0; i < ids.length; i += FRESHNESS_BATCH) {
      const batch = ids.slice(i, i + FRESHNESS_BATCH);
      const current = await appConfigVersions(this.#node.prisma, batch);
      for (const appId of batch) {
        const loadedFrom = this.#loadedFrom.get(appId);
        if (loadedFrom && current.get(appId) !== loadedFrom.version) {
          stale.push(this.#reload(appId));
        }
      }
    }
    await Promise.all(stale);
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
    this.#loadedFrom.clear();
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
    // The config version is read before the rest (readAppConfig): a change
    // made meanwhile is seen again at the next check rather than never.
    const app = await readAppConfig(this.#node.prisma, appId);
    if (!app) return null;
    const auth = app.authSettings ?? (await ensureAuthSettings(this.#node.prisma, appId));
    const runtime = new AppRuntime({
      appId,
      auth,
      permissions: this.#compile(appId, app.activePermissionVersion?.source),
      node: this.#node,
      limits: app.limits,
      compose: this.#compose,
    });
    this.#loadedFrom.set(appId, {
      version: app.configVersion,
      permissionVersionId: app.activePermissionVersionId,
      limits: limitsKey(app.limits),
    });
    return runtime;
  }

  /** Re-reads a loaded app, one reload at a time per app (a request during one runs once after it). */
  #reload(appId: string): Promise<void> {
    const current = this.#reloads.get(appId);
    if (current) {
      current.again = true;
      return current.running;
    }
    const entry = { running: Promise.resolve(), again: false };
    entry.running = (async () => {
      do {
        entry.again = false;
        try {
          await this.#refresh(appId);
        } catch (error) {
          // The next check (or announcement) tries again: the version stays the old one.
          this.#node.log.error({ err: error, app: appId }, 'reloading an app failed');
        }
      } while (entry.again);
      this.#reloads.delete(appId);
    })();
    this.#reloads.set(appId, entry);
    return entry.running;
  }

  async #deleted(appId: string) {
    const runtime = await this.#runtimes.get(appId);
    if (!runtime) return;
    this.#runtimes.delete(appId);
    this.#loadedFrom.delete(appId);
    runtime.shutdown(CLOSE_CODES.APP_DELETED, 'app deleted');
  }

  async #refresh(appId: string) {
    const runtime = await this.#runtimes.get(appId);
    const before = this.#loadedFrom.get(appId);
    if (!runtime || !before) return;
    const app = await readAppConfig(this.#node.prisma, appId);
    if (!app) return this.#deleted(appId);
    if (app.authSettings) runtime.replaceAuth(app.authSettings);
    const limits = limitsKey(app.limits);
    // Replacing limits restarts their windows: only when they changed.
    if (limits !== before.limits) runtime.replaceLimits(app.limits);
    if (app.activePermissionVersionId !== before.permissionVersionId) {
      await runtime.replacePermissions(this.#compile(appId, app.activePermissionVersion?.source));
    }
    if (this.#runtimes.has(appId)) {
      this.#loadedFrom.set(appId, {
        version: app.configVersion,
        permissionVersionId: app.activePermissionVersionId,
        limits,
      });
    }
  }
}
