import { burnPasswordCheck, verifyPassword } from '@hubstream/service';
import { reserveLogin, TOO_MANY_FAILED_LOGINS } from './login-throttle.ts';
import type { Strategy } from './strategy.ts';

const FAILED = { kind: 'deny', clientData: { error: 'INVALID_EMAIL_OR_PASSWORD' } } as const;

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
  if (!user) {
    await burnPasswordCheck(password);
    return FAILED;
  }
  if (!(await verifyPassword(user.passwordHash, password))) return FAILED;
  await reservation.succeeded();
  const clientData = { ...(user.clientData as Record<string, unknown>), id: user.id };
  return {
    kind: 'allow',
    user: { id: user.id, isAuthenticated: true, strategy: 'email', data: user.serverData },
    clientData,
  };
};
