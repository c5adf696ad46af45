import { randomUUID } from 'node:crypto';
import type { Strategy } from './strategy.ts';
import type { User } from './types.ts';

// One id space per app: every id open auth hands out starts with `open:`,
// and no other strategy may issue such an id (email ids are uuids; a webhook
// reply with an id that starts with `open:` is refused). So an open login
// can never become an email or webhook user, whatever username it claims,
// and a rule like `user.id === $uid` stays safe with open auth switched on.

export const OPEN_ID_PREFIX = 'open:';
const ANONYMOUS_PREFIX = `${OPEN_ID_PREFIX}anonymous-`;

/** An open login that gave no username (presence leaves these out). */
export const isAnonymous = (user: User): boolean =>
  user.strategy === 'open' && user.id.startsWith(ANONYMOUS_PREFIX);

/** Everyone is let in, as `open:<username>` or a fresh `open:anonymous-<uuid>` (VALVE.md "Users in rules"). */
export const openStrategy: Strategy = async (authData) => {
  const username = authData.username;
  const id =
    typeof username === 'string' && username.length > 0 && username.length <= 256
      ? `${OPEN_ID_PREFIX}${username}`
      : `${ANONYMOUS_PREFIX}${randomUUID()}`;
  return {
    kind: 'allow',
    user: { id, isAuthenticated: false, strategy: 'open', data: {} },
    clientData: { id },
  };
};
