import type { AppAuthSettings, PrismaClient } from '@hubstream/db';
import type { ConnectionInfo } from '../core/client-socket.ts';
import type { Logger, User } from '../core/types.ts';

export type StrategyName = 'open' | 'email' | 'webhook';

/** A strategy lets in, turns away, or has nothing to say (the next one is tried). */
export type Verdict =
  | { kind: 'allow'; user: User; clientData: Record<string, unknown> }
  | { kind: 'deny'; clientData?: unknown }
  | { kind: 'skip' };

export type StrategyContext = {
  appId: string;
  settings: AppAuthSettings;
  prisma: PrismaClient;
  info: ConnectionInfo;
  log: Logger;
  allowPrivateAddresses: boolean;
};

export type Strategy = (
  authData: Record<string, unknown>,
  context: StrategyContext,
) => Promise<Verdict>;
