import type { Connection } from '../core/connection.ts';
import type { Extension } from '../core/lifecycle.ts';
import type { Composition, ObservedApp } from '../runtime/composition.ts';
import type { NodeConsoleTap } from './tap.ts';

// The live console's tap observes every app's hooks like the node's other
// observers (runtime/observers.ts): emits, denials and failed logins go to
// the tap, which drops them at once unless a console watches the app.

/** `composition` with every app also observed by the console's tap. */
export function withConsoleTap(composition: Composition, tap: NodeConsoleTap): Composition {
  return {
    ...composition,
    extensions: [...composition.extensions, (app) => consoleTapping(app, tap)],
  };
}

function consoleTapping(app: ObservedApp, tap: NodeConsoleTap): Extension<Connection> {
  const { appId } = app;
  return {
    eventEmitted: (connection, name, data) => tap.emitted(appId, name, data, connection),
    messageDenied: (connection, _topic, verdict, message, name) =>
      tap.denied(app, connection.user, message, name, verdict),
    authFailed: (reason, connection) => tap.authFailed(appId, reason, connection),
  };
}
