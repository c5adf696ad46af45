import { burnPasswordCheck, verifyPassword } from '@hubstream/service';
import { reserveLogin, TOO_MANY_FAILED_LOGINS } from './login-throttle.ts';
import type { Strategy } from './strategy.ts';

const FAILED = { kind: 'deny', clientData: { error: 'INVALID_EMAIL_OR_PASSWORD' } } as const;

/**
 * Password hashes (argon2, 19 MiB and two passes each) verified at once on
 * this node; the rest wait their turn. They run on libuv's thread pool: on a
 * two-core node four at once leave the event loop, and every app's clients,
 * a fraction of a core for as long as a burst of guesses lasts.
 */
const HASHES_AT_ONCE = 1;
let hashing = 0;
const waitingToHash: (() => void)[] = [];

async function oneHashAtATime<T>(hash: () => Promise<T>): Promise<T> {
  if (hashing >= HASHES_AT_ONCE) await new Promise<void>((resolve) => waitingToHash.push(resolve));
  else hashing++;
  try {
    return await hash();
  } finally {
    // The slot passes straight to the next in line (`hashing` stays counted).
    const next = waitingToHash.shift();
    if (next) next();
    else hashing--;
  }
}

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
    await oneHashAtATime(() => burnPasswordCheck(password));
    return FAILED;
  }
  if (!(await oneHashAtATime(() => verifyPassword(user.passwordHash, password)))) return FAILED;
  await reservation.succeeded();
  const clientData = { ...(user.clientData as Record<string, unknown>), id: user.id };
  return {
    kind: 'allow',
    user: { id: user.id, isAuthenticated: true, strategy: 'email', data: user.serverData },
    clientData,
  };
};
