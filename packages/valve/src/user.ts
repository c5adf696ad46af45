import type { LoginStrategy, ValveUser } from './types.js';

// `user` in rules (VALVE.md "Users in rules"): { id, isAuthenticated,
// strategy, data }, where data is the login's serverData. An id is never empty, so a login
// without one can never pass as some shared default user (deepstream's 'OPEN').

/** Why a value cannot be a rule's user, or undefined when it can. */
export function userProblem(user: unknown): string | undefined {
  if (typeof user !== 'object' || user === null)
    return 'user must be an object { id, isAuthenticated, data }';
  const { id, isAuthenticated } = user as Partial<Record<keyof ValveUser, unknown>>;
  if (typeof id !== 'string' || id.length === 0) return 'user.id must be a non-empty string';
  if (typeof isAuthenticated !== 'boolean') return 'user.isAuthenticated must be true or false';
  const { strategy } = user as { strategy?: unknown };
  if (
    strategy !== undefined &&
    strategy !== 'open' &&
    strategy !== 'email' &&
    strategy !== 'webhook'
  )
    return "user.strategy must be 'open', 'email' or 'webhook'";
  if (strategy === 'open' && isAuthenticated)
    return 'an open-auth user is never authenticated (user.isAuthenticated false)';
  if (strategy !== undefined && strategy !== 'open' && !isAuthenticated)
    return `a ${strategy} user is always authenticated (user.isAuthenticated true)`;
  return undefined;
}

/** The user a login produced, as rules see it; throws for an empty id. */
export function createUser(login: {
  readonly id: string;
  readonly isAuthenticated: boolean;
  readonly strategy?: LoginStrategy;
  readonly serverData?: unknown;
}): ValveUser {
  const user: ValveUser = {
    id: login.id,
    isAuthenticated: login.isAuthenticated,
    ...(login.strategy === undefined ? {} : { strategy: login.strategy }),
    data: login.serverData ?? null,
  };
  const problem = userProblem(user);
  if (problem !== undefined) throw new TypeError(problem);
  return Object.freeze(user);
}
