import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { limits } from '../src/index.js';
import { compilePattern } from '../src/pattern.js';
import { compileOk, fileText } from './helpers.js';

const match = (pattern: string, name: string) => compilePattern(pattern).match(name);

describe('pattern matching', () => {
  it('lets * match anything, including / and nothing', () => {
    expect(match('*', '')).toEqual([]);
    expect(match('*', 'a/b/c')).toEqual([]);
    expect(match('user/*', 'user/')).toEqual([]);
    expect(match('user/*', 'user/a/b')).toEqual([]);
    expect(match('user/*', 'users/a')).toBeNull();
    expect(match('public/*', 'private/x')).toBeNull();
  });

  it('lets $var match one or more characters other than /', () => {
    expect(match('user/$id', 'user/abc')).toEqual(['abc']);
    expect(match('user/$id', 'user/')).toBeNull();
    expect(match('user/$id', 'user/a/b')).toBeNull();
    expect(match('game-score/$gameId', 'game-score/42')).toEqual(['42']);
    expect(match('private/$userId/*/$anotherId', 'private/userA/blabla/14')).toEqual([
      'userA',
      '14',
    ]);
    expect(match('$recordName/*', 'rec/x/y')).toEqual(['rec']);
  });

  it('ends a variable name at the first character outside [a-zA-Z0-9]', () => {
    const pattern = compilePattern('user/$user_id');
    expect(pattern.variables).toEqual(['$user']);
    expect(pattern.match('user/bob_id')).toEqual(['bob']);
    expect(pattern.match('user/bob')).toBeNull();
  });

  it('treats every other character literally (deepstream passed them to RegExp)', () => {
    expect(match('a.b', 'axb')).toBeNull();
    expect(match('a.b', 'a.b')).toEqual([]);
    expect(match('search?$query', 'search?x')).toEqual(['x']);
    expect(match('search?$query', 'searcx')).toBeNull();
    expect(match('(a|b)+[c]', '(a|b)+[c]')).toEqual([]);
    expect(compilePattern('x^y$z').variables).toEqual(['$z']);
    expect(match('x^y$z', 'x^yz')).toEqual(['z']);
  });

  it('captures greedily, as the equivalent regex would', () => {
    expect(match('$a-$b', 'x-y-z')).toEqual(['x-y', 'z']);
    expect(match('*/$last', 'a/b/c')).toEqual(['c']);
    expect(match('$a$b', 'abc')).toEqual(['ab', 'c']);
  });

  it('agrees with an anchored, escaped RegExp on random patterns and names', () => {
    const piece = fc.constantFrom('a', 'b', '/', '-', '.', '*', '$v', '$w');
    const nameChar = fc.constantFrom('a', 'b', '/', '-', '.');
    fc.assert(
      fc.property(
        fc.array(piece, { minLength: 1, maxLength: 7 }),
        fc.string({ unit: nameChar, maxLength: 10 }),
        (pieces, name) => {
          const pattern = pieces.join('');
          const source = pieces
            .map((p) =>
              p === '*'
                ? '.*'
                : p.startsWith('$')
                  ? '([^/]+)'
                  : p.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&'),
            )
            .join('');
          // Adjacent pieces can merge into one variable name ($vw); only compare well-formed splits.
          const declared = pieces.filter((p) => p.startsWith('$'));
          fc.pre(compilePattern(pattern).variables.join() === declared.join());
          const expected = new RegExp(`^${source}$`).exec(name);
          expect(match(pattern, name)).toEqual(expected === null ? null : expected.slice(1));
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('stays linear where a regex would backtrack', () => {
    const name = 'a'.repeat(20_000);
    expect(match('*a*a*a*a*a*a*a*a*b', name)).toBeNull();
    expect(match('$x$y$z$w!', name)).toBeNull();
  });
});

describe('choosing the rule', () => {
  const permissions = compileOk(
    fileText({
      record: {
        '*': { read: true },
        secretx: { read: false },
        $aVeryLongVariableName: { read: true },
        'tie/$a': { write: 'false' },
        'tie/$b': { write: 'true' },
        'only-write/*': { write: true },
      },
    }),
  );

  it('prefers the longest pattern string, even over an exact literal', () => {
    expect(permissions.ruleFor('record', 'read', 'secretx')).toBe('$aVeryLongVariableName');
  });

  it('gives a tie to the pattern defined later', () => {
    expect(permissions.ruleFor('record', 'write', 'tie/x')).toBe('tie/$b');
  });

  it('only considers patterns that define the rule type', () => {
    expect(permissions.ruleFor('record', 'write', 'only-write/x')).toBe('only-write/*');
    expect(permissions.ruleFor('record', 'read', 'only-write/x')).toBe('*');
    expect(permissions.ruleFor('record', 'delete', 'anything')).toBeNull();
  });

  it('denies when no pattern defines the rule type', async () => {
    const result = await permissions.evaluate({
      section: 'record',
      action: 'delete',
      name: 'x',
      user: { id: 'a', isAuthenticated: true, data: null },
    });
    expect(result).toMatchObject({
      verdict: 'denied',
      rules: [{ pattern: null, type: 'delete', verdict: 'denied' }],
    });
  });

  it('keeps choosing correctly after the rule-choice cache fills and starts over', () => {
    const table = compileOk(fileText({ record: { '*': { read: true }, 'x/$id': { read: true } } }));
    for (let i = 0; i < limits.RULE_CACHE_SIZE + 100; i++) {
      expect(table.ruleFor('record', 'read', i % 2 === 0 ? `x/${i}` : `y/${i}`)).toBe(
        i % 2 === 0 ? 'x/$id' : '*',
      );
    }
    expect(table.ruleFor('record', 'read', 'x/0')).toBe('x/$id');
    expect(
      table.ruleFor('record', 'read', `x/${'a'.repeat(limits.RULE_CACHE_MAX_NAME_LENGTH + 1)}`),
    ).toBe('x/$id');
  });
});
