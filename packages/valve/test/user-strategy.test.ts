import { describe, expect, it } from 'vitest';
import { createUser, type EvaluationResult } from '../src/index.js';
import { singleRule } from './helpers.js';

// Hubstream's users carry the strategy they logged in through (README
// "Auth"): rules may require it, and a user whose strategy and
// isAuthenticated disagree cannot be made.

describe('user.strategy', () => {
  const write = (user: ReturnType<typeof createUser>) =>
    (
      singleRule("user.strategy === 'email' && user.isAuthenticated").evaluate({
        section: 'record',
        action: 'write',
        name: 'n',
        user,
      }) as EvaluationResult
    ).verdict;

  it('is visible to rules', () => {
    expect(write(createUser({ id: 'u1', isAuthenticated: true, strategy: 'email' }))).toBe(
      'allowed',
    );
    expect(write(createUser({ id: 'u1', isAuthenticated: true, strategy: 'webhook' }))).toBe(
      'denied',
    );
    expect(write(createUser({ id: 'open:u1', isAuthenticated: false, strategy: 'open' }))).toBe(
      'denied',
    );
  });

  it('must agree with isAuthenticated, and be one of the three', () => {
    expect(() => createUser({ id: 'open:x', isAuthenticated: true, strategy: 'open' })).toThrow(
      /never authenticated/,
    );
    expect(() => createUser({ id: 'x', isAuthenticated: false, strategy: 'email' })).toThrow(
      /always authenticated/,
    );
    expect(() =>
      createUser({ id: 'x', isAuthenticated: true, strategy: 'ldap' as unknown as 'email' }),
    ).toThrow(/user.strategy/);
    // Without one (older callers) the user is as before.
    expect(createUser({ id: 'x', isAuthenticated: true })).not.toHaveProperty('strategy');
  });
});
