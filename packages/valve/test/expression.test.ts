import { describe, expect, it } from 'vitest';
import { alice, evalRule, ruleErrors, ruleValue, singleRule } from './helpers.js';

describe('expression values', () => {
  it.each([
    ['1 + 2 * 3', 7],
    ['2 ** 3 ** 2', 512],
    ['(1 + 2) * 3', 9],
    ['7 % 4 - 1', 2],
    ['0x1F + 0o7 + 0b11', 41],
    ['1_000 + .5 + 1e2', 1100.5],
    ["'a' + 1 + 2", 'a12'],
    ['"\\u0041\\x42\\n"', 'AB\n'],
    ["'it\\'s'", "it's"],
    ['typeof null', 'object'],
    ['typeof data.missing', 'undefined'],
    ['-"3"', -3],
    ['+true', 1],
    ['~5', -6],
    ['5 & 3 | 8 ^ 1', 9],
    ['1 << 4 >> 1 >>> 1', 4],
    ['null ?? "fallback"', 'fallback'],
    ['0 ?? 1', 0],
    ['0 || "x"', 'x'],
    ['1 && "y"', 'y'],
    ['(null ?? 0) || 2', 2],
    ['true ? "a" : "b"', 'a'],
    ['false ? 1 : true ? 2 : 3', 2],
    ['1 == "1"', true],
    ['null == undefined', true],
    ['1 != 1', false],
    ['"abc" < "abd"', true],
    ['NaN === NaN', false],
    ['Infinity > 1e308', true],
    ['[1, 2, 3].length', 3],
    ['["log", "user"].indexOf("user")', 1],
    ['[1, [2, 3]][1][0]', 2],
    ['/* a comment */ 1 // and another', 1],
  ])('%s → %j', async (rule, expected) => {
    expect(await ruleValue(rule, { data: {} })).toEqual(expected);
  });

  it('reads own fields of data, user and strings', async () => {
    const data = { a: { b: [10, { c: 'deep' }] }, 'odd key': 1, s: 'hello' };
    expect(await ruleValue('data.a.b[1].c', { data })).toBe('deep');
    expect(await ruleValue('data["odd key"]', { data })).toBe(1);
    expect(await ruleValue('data.a.b.length', { data })).toBe(2);
    expect(await ruleValue('data.s.length + data.s[1]', { data })).toBe('5e');
    expect(await ruleValue('data.s[99]', { data })).toBeUndefined();
    expect(await ruleValue('user.id + "/" + user.data.role', { data })).toBe('alice/user');
    expect(await ruleValue('(5).x', { data })).toBeUndefined();
  });

  it('never sees the prototype chain', async () => {
    const data = { list: [1] };
    expect(await ruleValue('typeof data.toString', { data })).toBe('undefined');
    expect(await ruleValue('typeof data.list.map', { data })).toBe('undefined');
    expect(await ruleValue('"toString" in data', { data })).toBe(false);
    expect(await ruleValue('"list" in data && 0 in data.list', { data })).toBe(true);
    expect(await ruleValue('typeof data["hasOwnProperty"]', { data })).toBe('undefined');
  });

  it('calls the listed methods on strings and arrays', async () => {
    const data = { s: '  Mixed Case  ', tags: ['a', 'b'], url: 'https://x.io/a' };
    expect(await ruleValue('data.s.trim().toLowerCase()', { data })).toBe('mixed case');
    expect(await ruleValue('data.s.toUpperCase().includes("MIXED")', { data })).toBe(true);
    expect(
      await ruleValue('data.url.startsWith("https://") && data.url.endsWith("/a")', { data }),
    ).toBe(true);
    expect(await ruleValue('data.url.startsWith("x", 8)', { data })).toBe(true);
    expect(
      await ruleValue('data.tags.includes("b") && data.tags.indexOf("c") === -1', { data }),
    ).toBe(true);
    expect(await ruleValue('data.url.indexOf("x")', { data })).toBe(8);
  });

  it('matches with RE2 and returns plain arrays or null', async () => {
    const data = { s: 'Order-1234', pattern: '^[a-z]+-(\\d+)$' };
    expect(await ruleValue('data.s.match(/^[a-z]+-(\\d+)$/i)', { data })).toEqual([
      'Order-1234',
      '1234',
    ]);
    expect(await ruleValue('data.s.match(/^[a-z]+-(\\d+)$/)', { data })).toBeNull();
    expect(await ruleValue('data.s.match(/\\d/g)', { data })).toEqual(['1', '2', '3', '4']);
    expect(await ruleValue('data.s.toLowerCase().match(data.pattern)[1]', { data })).toBe('1234');
    expect(await ruleValue('!!"a/b".match(/a\\/b/)', { data })).toBe(true);
  });

  it('supports optional chaining, short-circuiting the rest of the chain', async () => {
    expect(await ruleValue('data?.a?.b.c.d', { data: { a: null } })).toBeUndefined();
    expect(await ruleValue('data.a?.toLowerCase()', { data: {} })).toBeUndefined();
    expect(await ruleValue('data.a?.["b"]', { data: { a: { b: 2 } } })).toBe(2);
    expect((await evalRule('(data.a?.b).c', { data: {} })).error?.code).toBe('RUNTIME_TYPE_ERROR');
  });

  it('binds name, $variables (the last of a repeated name wins) and now', async () => {
    const permissions = singleRule('$a + ":" + $b + ":" + name + ":" + now', {
      pattern: 'x/$a/$b/$a',
    });
    const result = await permissions.evaluate({
      section: 'record',
      action: 'write',
      name: 'x/1/2/3',
      user: alice,
      now: 42,
    });
    expect(result.rules[0]?.result).toBe('3:2:x/1/2/3:42');
  });

  it('compares action by number (protobuf) and by name (old docs)', async () => {
    const rule = 'action === 18 && action === "UPDATE" && action !== "PATCH" && "UPDATE" == action';
    expect(await ruleValue(rule)).toBe(true);
    const patch = singleRule('action === 19 && action === "PATCH"');
    const result = await patch.evaluate({
      section: 'record',
      action: 'PATCH',
      path: 'x',
      data: 1,
      name: 'n',
      user: alice,
      oldData: {},
    });
    expect(result.verdict).toBe('allowed');
  });
});

describe('the verdict', () => {
  it.each([
    ['true', 'allowed'],
    ['1 === 1', 'allowed'],
    ['1', 'denied'],
    ['"true"', 'denied'],
    ['[true]', 'denied'],
    ['null', 'denied'],
    ['undefined', 'denied'],
    ['data.missing', 'denied'],
    ['false', 'denied'],
  ])('%s is %s: only exactly true allows', async (rule, verdict) => {
    const result = await evalRule(rule, { data: {} });
    expect(result.verdict).toBe(verdict);
  });

  it('records what a non-boolean rule returned', async () => {
    const result = await evalRule('"bobo"');
    expect(result.rules[0]).toMatchObject({ verdict: 'denied', result: 'bobo' });
  });

  it.each([
    ['data.a.b', 'RUNTIME_TYPE_ERROR', "cannot read 'b' of undefined"],
    ['data.s.toLowerCase()', 'RUNTIME_TYPE_ERROR', 'toLowerCase() needs a string, not a number'],
    [
      'data.list.startsWith("a")',
      'RUNTIME_TYPE_ERROR',
      'startsWith() needs a string, not an array',
    ],
    ['"x" in data.s', 'RUNTIME_TYPE_ERROR', "'in' needs an object or array"],
    ['data[data.list]', 'RUNTIME_TYPE_ERROR', 'a computed key must be a string or a number'],
    ['"abc".match(data.bad)', 'RUNTIME_REGEX_INVALID', 'invalid or unsupported regular expression'],
  ])('%s is an error (%s)', async (rule, code, message) => {
    const result = await evalRule(rule, { data: { s: 5, list: [1], bad: '(' } });
    expect(result).toMatchObject({ verdict: 'error', allowed: false, error: { code } });
    expect(result.error?.message).toContain(message);
  });
});

describe('syntax', () => {
  it('accepts keywords as member names', () => {
    expect(ruleErrors('data.new === data.default && data.in !== data.typeof')).toEqual([]);
  });

  it.each([
    ['a b', 'EXPR_SYNTAX'],
    ['user.id.toUpperCase(', 'EXPR_SYNTAX'],
    ['"unterminated', 'EXPR_SYNTAX'],
    ['1 +', 'EXPR_SYNTAX'],
    ['-2 ** 2', 'EXPR_SYNTAX'],
    ['a ?? b || c', 'EXPR_SYNTAX'],
    ['[1,,2]', 'EXPR_SYNTAX'],
    ['017', 'EXPR_SYNTAX'],
    ['10n', 'EXPR_SYNTAX'],
    ['{}', 'EXPR_SYNTAX'],
    ['user.#x', 'EXPR_SYNTAX'],
    ['/(unclosed', 'EXPR_SYNTAX'],
  ])('%s → %s', (rule, code) => {
    expect(ruleErrors(rule, { type: 'write' }).map((e) => e.code)).toContain(code);
  });
});
