import type { AuthResult, ConnectionInfo } from '@hubstream/auth';
import type { ClientMessage, Message } from '@hubstream/protocol';
import type { ValveLoaders } from '@hubstream/valve';
import type { AppLimits } from '../limits/app-limits.ts';
import type { Hooks } from './lifecycle.ts';
import type { NodeSettings } from './settings.ts';
import type { Logger } from './types.ts';

export type PermissionQuestion = {
  /** Protocol action (number) or rule type. Defaults to the message's action. */
  action?: string | number;
  name?: string | undefined;
  data?: unknown;
  oldData?: unknown;
  path?: string | undefined;
};

export type ConnectionState =
  | 'awaiting-challenge'
  | 'awaiting-auth'
  | 'authenticating'
  | 'open'
  | 'closed';

export type CheckVerdict = 'allowed' | 'denied' | 'error';

/**
 * What a connection needs of its app: the gates it passes (room, login,
 * admission, rate limits, rules), where its messages go, and the hooks it
 * announces its life on. The runtime implements it (runtime/app-runtime.ts);
 * generic over the connection so that this layer imports no connection.
 */
export interface ConnectionHost<C> {
  readonly appId: string;
  readonly log: Logger;
  readonly settings: NodeSettings;
  /** The app's limits now (replaced when the app's change). */
  readonly limits: AppLimits;
  readonly maxMessageBytes: number;
  readonly unauthenticatedTimeoutMs: number;
  readonly maxAuthAttempts: number;
  readonly hooks: Hooks<C>;
  /** Whether the app has room for one more connection across the cluster. */
  hasRoom(): Promise<boolean>;
  /** `log`: the connection's, so the strategies' lines carry its id. */
  authenticate(
    authData: Record<string, unknown>,
    info: ConnectionInfo,
    log?: Logger,
  ): Promise<AuthResult>;
  /** Takes the connection's place in the app's limit; false when full (or closed meanwhile). */
  admit(connection: C): Promise<boolean>;
  /** Whether the rate limits let `message` through. */
  allows(connection: C, message: Message): boolean | Promise<boolean>;
  /** The connection finished its login. */
  attach(connection: C): void;
  /** The connection is gone; `wasOpen` when it had logged in. */
  detach(connection: C, wasOpen: boolean): void;
  /** A logged-in client's message for one of the app's topic handlers. */
  route(connection: C, message: ClientMessage): void | Promise<void>;
  /** Valve's verdict for one question, with the app's rules and record loader. */
  check(
    connection: C,
    topic: number,
    question: PermissionQuestion,
    loaders?: ValveLoaders,
  ): CheckVerdict | Promise<CheckVerdict>;
}
