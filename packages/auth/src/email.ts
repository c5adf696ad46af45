import type { SqlSession } from '@hubstream/db';
import { burnPasswordCheck, PasswordChecksBusyError, verifyPassword } from '@hubstream/service';
import { reserveLogin, TOO_MANY_FAILED_LOGINS } from './login-throttle.ts';
import type { Strategy } from './strategy.ts';

const FAILED = { kind: 'deny', clientData: { error: 'INVALID_EMAIL_OR_PASSWORD' } } as const;

/** Refused without a check: the node's password process has a full queue (password-process.ts). */
export const PASSWORD_CHECKS_BUSY = 'PASSWORD_CHECKS_BUSY';
const BUSY_RETRY_AFTER_MS = 1_000;

// The user is read through the driver, not Prisma. A realtime node runs few
// Prisma queries (app configs), and the first email login was the first
// time this query went through Prisma's query compiler (WebAssembly): V8
// then compiled the compiler's hot functions again in the background, about
// 300 ms of the node's CPU and 30-50 MB of RSS at once (bench:attacks,
// password guessing, cluster: node A's other threads 220-340 ms in the
// attack window, the other app's p99 2.4 -> 44 ms; with --liftoff-only,
// 30 ms and +1 MB). A prepared statement is also a quarter of the event
// loop's time on PGlite (standalone), where the query runs on that thread.
const USER_BY_EMAIL =
  'SELECT id, password_hash, client_data, server_data FROM app_users WHERE app_id = $1 AND email_key = $2';
const USER_BY_EMAIL_NAME = 'hs_app_user_by_email';
/**
 * Runs the login's user lookup once for no user, so the database has it
 * prepared: on PGlite (one connection, on the event loop) the first run of
 * the statement took ~10 ms of the event loop (parse, plan, cold catalog),
 * at the first email login of a burst (bench:attacks, password guessing,
 * standalone). A process calls it at start; a failure is left for the
 * first login to report.
 */
export async function prepareEmailLogin(sql: SqlSession): Promise<void> {
  await sql.query(USER_BY_EMAIL, ['', ''], USER_BY_EMAIL_NAME).catch(() => {});
}

type AppUserRow = {
  id: string;
  password_hash: string;
  client_data: unknown;
  server_data: unknown;
};

/**
 * The app's own users. Unknown email and wrong password take the same time
 * (a dummy hash is verified) and give the same answer. Failed logins are
 * throttled across connections and nodes (login-throttle.ts): over a limit
 * the login is refused before any lookup or hash.
 */
export const emailStrategy: Strategy = async (authData, { appId, sql, info, throttle }) => {
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
  const [user] = await sql.query<AppUserRow>(USER_BY_EMAIL, [appId, emailKey], USER_BY_EMAIL_NAME);
  // Hashes run one at a time in a low-priority child process (password-process.ts):
  // a burst of logins waits there, in a bounded queue, instead of taking the event loop's core.
  let matches: boolean;
  try {
    if (user) matches = await verifyPassword(user.password_hash, password);
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
  const clientData = { ...(user.client_data as Record<string, unknown>), id: user.id };
  return {
    kind: 'allow',
    user: { id: user.id, isAuthenticated: true, strategy: 'email', data: user.server_data },
    clientData,
  };
};
