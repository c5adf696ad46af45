import type { Permissions, ValveLoaders } from '@hubstream/valve';
import type { AppScope } from '../core/app-scope.ts';
import type { Connection } from '../core/connection.ts';
import type { Extension } from '../core/lifecycle.ts';
import type { EventHandler } from '../events/event-handler.ts';
import type { PresenceHandler } from '../presence/presence-handler.ts';
import type { RecordHandler } from '../records/record-handler.ts';
import type { RpcHandler } from '../rpc/rpc-handler.ts';

// The shapes an app's runtime is composed from (runtime/handlers.ts builds
// them): its topic handlers, made from the app's narrow scope, and the
// extensions that observe its hooks.

/** An app's topic handlers, each given only the app's narrow scope. */
export type AppHandlers = {
  events: EventHandler;
  records: RecordHandler;
  rpc: RpcHandler;
  presence: PresenceHandler;
};

export type HandlerFactory = (scope: AppScope) => AppHandlers;

export type Usage = {
  messagesIn: number;
  /** Messages sent to clients (each copy of a fan-out counts). */
  messagesOut: number;
  denied: number;
  /** Refused by a limit: connections, messages, rules' record loads. */
  rateLimited: number;
  rejected: number;
  authFailures: number;
};

/**
 * What an extension sees of an app: its scope, usage and connection limit,
 * and its rules with their record loader (the live console asks which rule
 * refused a denied message).
 */
export type ObservedApp = AppScope & {
  readonly usage: Usage;
  readonly limiter: { release(connection: Connection): void };
  readonly permissions: Permissions | null;
  readonly records: { readonly ruleLoaders: ValveLoaders };
};

/** An extension of every app on the node, made for each app's runtime (runtime/observers.ts). */
export type ExtensionFactory = (app: ObservedApp) => Extension<Connection>;

/** What the runtime is composed of (runtime/handlers.ts): its topic handlers and its observers. */
export type Composition = {
  handlers: HandlerFactory;
  extensions: readonly ExtensionFactory[];
};
