import { randomUUID } from 'node:crypto';
import type { Strategy } from './strategy.ts';

/** Everyone is let in; `username` becomes the id when given (VALVE.md "Users in rules"). */
export const openStrategy: Strategy = async (authData) => {
  const username = authData.username;
  const id =
    typeof username === 'string' && username.length > 0 && username.length <= 256
      ? username
      : `anonymous-${randomUUID()}`;
  return {
    kind: 'allow',
    user: { id, isAuthenticated: false, data: {} },
    clientData: { id },
  };
};
