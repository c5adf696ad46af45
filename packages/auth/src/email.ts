import { burnPasswordCheck, PasswordChecksBusyError, verifyPassword } from '@hubstream/service';
import { reserveLogin, TOO_MANY_FAILED_LOGINS } from './login-throttle.ts';
import type { Strategy } from './strategy.ts';

const FAILED = { kind: 'deny', clientData: { error: 'INVALID_EMAIL_OR_PASSWORD' } } as const;

/** Refused without a check: the node's password process has a full queue (password-process.ts). */
export const PASSWORD_CHECKS_BUSY = 'PASSWORD_CHECKS_BUSY';
const BUSY_RETRY_AFTER_MS = 1_000;

/**
 * The app's own users. Unknown email and wrong password take the same time
 * (a dummy hash is verified) and give the same answer. Failed logins are
 * throttled across connections and nodes (login-throttle.ts): over a limit
 * the login is refused before any lookup or hash.
 */
export const emailStrategy: Strategy = async (authData, { appId, prisma, info, throttle }) => {
  const { email, password } = authData;
  if (typeof email !== 'string' || typeof password !== 'string') return { kind: 'skip' };
  if (email.length > 254 || password.length > 1024) return FAILED;
  const emailKey = email.trim().toLowerCase();
  const reservation = await reserveLogin(
    throttle.limiter,
    throttle.settings,
    appId,
    emailKey,
    info.remoteAddress,
  );
  if (!reservation.ok) {
    return {
      kind: 'deny',
      reason: 'throttled',
      clientData: { error: TOO_MANY_FAILED_LOGINS, retryAfterMs: reservation.retryAfterMs },
    };
  }
  const user = await prisma.appUser.findUnique({
    where: { appId_emailKey: { appId, emailKey } },
  });
  // Hashes run one at a time in a low-priority child process (password-process.ts):
  // a burst of logins waits there, in a bounded queue, instead of taking the event loop's core.
  let matches: boolean;
  try {
    if (user) matches = await verifyPassword(user.passwordHash, password);
    else {
      await burnPasswordCheck(password);
      matches = false;
    }
  } catch (error) {
    if (!(error instanceof PasswordChecksBusyError)) throw error;
    // Not a failed guess: the reservation is given back.
    await reservation.succeeded();
    return {
      kind: 'deny',
      reason: 'throttled',
      clientData: { error: PASSWORD_CHECKS_BUSY, retryAfterMs: BUSY_RETRY_AFTER_MS },
    };
  }
  if (!user || !matches) return FAILED;
  await reservation.succeeded();
  const clientData = { ...(user.clientData as Record<string, unknown>), id: user.id };
  return {
    kind: 'allow',
    user: { id: user.id, isAuthenticated: true, strategy: 'email', data: user.serverData },
    clientData,
  };
};
