import { randomBytes } from 'node:crypto';
import { inPasswordProcess, PasswordProcessError } from './password-process.ts';

// Passwords of developers and of apps' end users: argon2id with OWASP's
// minimum parameters (19 MiB, 2 passes), computed in a child process of the
// lowest CPU priority (password-process.ts), not on this process's threads.

// argon2's own constant (argon2.argon2id = 2), written out: importing argon2
// for it loaded the native module in every server process at start-up (a
// tenth of a realtime node's start), though only the password process hashes.
const ARGON2_OPTIONS = {
  type: 2,
  memoryCost: 19_456,
  timeCost: 2,
  parallelism: 1,
};

export async function hashPassword(password: string): Promise<string> {
  const hash = await inPasswordProcess({ op: 'hash', password, options: ARGON2_OPTIONS });
  if (typeof hash !== 'string') throw new PasswordProcessError('hash: not a string', 'process');
  return hash;
}

/**
 * Whether `password` matches `hash`; false also for a hash argon2 cannot
 * read. Throws when the check could not be made (PasswordChecksBusyError,
 * the child process failed): not the same as a wrong password.
 */
export async function verifyPassword(hash: string, password: string): Promise<boolean> {
  try {
    return (await inPasswordProcess({ op: 'verify', hash, password })) === true;
  } catch (error) {
    // argon2's own refusal (a malformed or foreign hash) is a mismatch.
    if (error instanceof PasswordProcessError && error.source === 'argon2') return false;
    throw error;
  }
}

// Verified against when the account does not exist, so an unknown email
// costs the same time as a wrong password.
let dummyHash: Promise<string> | undefined;
export async function burnPasswordCheck(password: string): Promise<void> {
  dummyHash ??= hashPassword(randomBytes(16).toString('hex'));
  // A failed dummy hash is made again next time, not cached as failed.
  dummyHash.catch(() => {
    dummyHash = undefined;
  });
  await verifyPassword(await dummyHash, password);
}
