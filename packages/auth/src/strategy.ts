import type { RateLimiter } from '@hubstream/cluster';
import type { AppAuthSettings, PrismaClient, SqlSession } from '@hubstream/db';
import type { LoginThrottleSettings } from './login-throttle.ts';
import type { AuthFailureReason, AuthLogger, ConnectionInfo, User } from './types.ts';

export type StrategyName = 'open' | 'email' | 'webhook';

/** A strategy lets in, turns away, or has nothing to say (the next one is tried). */
export type Verdict =
  | { kind: 'allow'; user: User; clientData: Record<string, unknown> }
  | {
      kind: 'deny';
      clientData?: unknown /** For the metrics; default `rejected`. */;
      reason?: AuthFailureReason;
    }
  | { kind: 'skip' };

export type StrategyContext = {
  appId: string;
  settings: AppAuthSettings;
  prisma: PrismaClient;
  /** The driver beside Prisma: the email login's one lookup goes through it (email.ts). */
  sql: SqlSession;
  info: ConnectionInfo;
  log: AuthLogger;
  allowPrivateAddresses: boolean;
  /** Longest a webhook login may take in all, retries included. */
  webhookLoginTimeoutMs: number;
  /** Cluster-wide counts of failed email logins. */
  throttle: { limiter: RateLimiter; settings: LoginThrottleSettings };
};

export type Strategy = (
  authData: Record<string, unknown>,
  context: StrategyContext,
) => Promise<Verdict>;
