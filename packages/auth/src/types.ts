// The shapes a login deals in, declared here so that the strategies depend
// on no app. The realtime node uses these (User, ConnectionInfo, AuthResult,
// and AuthFailureReason, to which it adds reasons of its own): one definition.

/**
 * The user as the node and the rules see it (VALVE.md "Users in rules"):
 * `strategy` says which auth strategy let them in.
 */
export type User = {
  id: string;
  isAuthenticated: boolean;
  strategy: 'open' | 'email' | 'webhook';
  data: unknown;
};

/** Who is logging in: the client's address and its upgrade request's headers. */
export type ConnectionInfo = {
  remoteAddress: string;
  headers: Record<string, string>;
};

export type AuthLogger = {
  debug(object: object, message?: string): void;
  info(object: object, message?: string): void;
  warn(object: object, message?: string): void;
  error(object: object, message?: string): void;
};

/**
 * Why a login failed, as authenticate() says (the realtime node counts these
 * and a few of its own: a malformed auth message, a login timeout).
 */
export type AuthFailureReason =
  /** A strategy turned the credentials down (wrong password, the webhook said no). */
  | 'rejected'
  /** authData named a strategy the app has not enabled. */
  | 'type_not_enabled'
  /** The app enabled no strategy. */
  | 'no_strategy_enabled'
  /** No enabled strategy understood the authData. */
  | 'invalid_auth_data'
  /** Email login refused unchecked: too many failed logins for that email or address. */
  | 'throttled'
  /** A strategy failed (the database, an unreachable webhook that threw). */
  | 'strategy_error';

/** What a login comes to: the user let in, or why not (with what the client is told). */
export type AuthResult =
  | { ok: true; user: User; clientData: Record<string, unknown> }
  | { ok: false; clientData?: unknown; reason: AuthFailureReason };
