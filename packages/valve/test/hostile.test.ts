import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compilePermissions, limits } from '../src/index.js';
import { alice, fileText, mapLoader, ruleErrors } from './helpers.js';

// Rules written to escape the sandbox, change state or exhaust the server.
// Each must be rejected at check time, or evaluate (within bounded steps) to
// a denial or an error, and leave everything outside the evaluation alone.

const REJECTED: readonly (readonly [string, string])[] = [
  // Prototype and constructor chains.
  ['user.constructor', 'EXPR_FORBIDDEN_MEMBER'],
  ['user.__proto__.polluted', 'EXPR_FORBIDDEN_MEMBER'],
  ['data.prototype', 'EXPR_FORBIDDEN_MEMBER'],
  ['user["constructor"]["constructor"]', 'EXPR_FORBIDDEN_MEMBER'],
  ["'abc'.constructor", 'EXPR_FORBIDDEN_MEMBER'],
  ['_("x").__proto__', 'EXPR_FORBIDDEN_MEMBER'],
  ['(c="constructor", user[c][c]("return process.version")())', 'EXPR_ASSIGNMENT'],
  ['user[c][c]("return process.version")()', 'EXPR_UNKNOWN_FUNCTION'],
  ['data.x.constructor.constructor("return process")()', 'EXPR_UNKNOWN_FUNCTION'],
  ['user.id.toString()', 'EXPR_UNKNOWN_FUNCTION'],
  ['data.hasOwnProperty("x")', 'EXPR_UNKNOWN_FUNCTION'],
  ['user["toLowerCase"]()', 'EXPR_UNKNOWN_FUNCTION'],
  // Globals and escape hatches.
  ['process.version', 'EXPR_UNKNOWN_IDENTIFIER'],
  ['process.env.HOME.startsWith("/")', 'EXPR_UNKNOWN_IDENTIFIER'],
  ['globalThis.leak', 'EXPR_UNKNOWN_IDENTIFIER'],
  ['global', 'EXPR_UNKNOWN_IDENTIFIER'],
  ['this', 'EXPR_UNKNOWN_IDENTIFIER'],
  ['this.constructor', 'EXPR_UNKNOWN_IDENTIFIER'],
  ['require("fs")', 'EXPR_UNKNOWN_FUNCTION'],
  ['require', 'EXPR_UNKNOWN_IDENTIFIER'],
  ['Function("return 1")()', 'EXPR_UNKNOWN_FUNCTION'],
  ['eval("1")', 'EXPR_UNKNOWN_FUNCTION'],
  ['module.exports', 'EXPR_UNKNOWN_IDENTIFIER'],
  ['Buffer.alloc', 'EXPR_UNKNOWN_IDENTIFIER'],
  ['arguments[0]', 'EXPR_UNKNOWN_IDENTIFIER'],
  ['Math.max(1, 2)', 'EXPR_UNKNOWN_FUNCTION'],
  ['JSON.stringify(user)', 'EXPR_UNKNOWN_FUNCTION'],
  ['import("fs")', 'EXPR_STATEMENT'],
  ['_', 'EXPR_UNKNOWN_IDENTIFIER'],
  ['$undeclared === 1', 'EXPR_UNKNOWN_VARIABLE'],
  ['\\u0070rocess', 'EXPR_SYNTAX'],
  // Assignment and update.
  ['leak = user.id', 'EXPR_ASSIGNMENT'],
  ['user.id = "admin"', 'EXPR_ASSIGNMENT'],
  ['data.x += 1', 'EXPR_ASSIGNMENT'],
  ['user.isAuthenticated ||= true', 'EXPR_ASSIGNMENT'],
  ['data.x ??= 1', 'EXPR_ASSIGNMENT'],
  ['data.n++', 'EXPR_ASSIGNMENT'],
  ['--data.n', 'EXPR_ASSIGNMENT'],
  ['[a] = [1]', 'EXPR_ASSIGNMENT'],
  // Functions, classes and new.
  ['function () { return true }', 'EXPR_FUNCTION'],
  ['(() => true)()', 'EXPR_FUNCTION'],
  ['x => x', 'EXPR_FUNCTION'],
  ['(a, b) => a', 'EXPR_FUNCTION'],
  ['async () => 1', 'EXPR_FUNCTION'],
  ['class A {}', 'EXPR_FUNCTION'],
  ['new Function("return process")()', 'EXPR_NEW'],
  ['new Date()', 'EXPR_NEW'],
  // Template literals, comma, statements.
  // biome-ignore lint/suspicious/noTemplateCurlyInString: the rule under test is a template literal.
  ['`${user.id}`', 'EXPR_TEMPLATE_LITERAL'],
  ['String.raw`x`', 'EXPR_TEMPLATE_LITERAL'],
  ['(1, true)', 'EXPR_COMMA'],
  ['user[(0, "constructor")]', 'EXPR_COMMA'],
  ['true, false', 'EXPR_COMMA'],
  ['true; false', 'EXPR_STATEMENT'],
  ['if (true) true', 'EXPR_STATEMENT'],
  ['while (true) {}', 'EXPR_STATEMENT'],
  ['for (;;) {}', 'EXPR_STATEMENT'],
  ['return true', 'EXPR_STATEMENT'],
  ['var x = 1', 'EXPR_STATEMENT'],
  ['{}', 'EXPR_SYNTAX'],
  ['({}).constructor', 'EXPR_SYNTAX'],
  // Other operators outside the language.
  ['delete data.x', 'EXPR_FORBIDDEN_OPERATOR'],
  ['void 0', 'EXPR_FORBIDDEN_OPERATOR'],
  ['data instanceof Object', 'EXPR_FORBIDDEN_OPERATOR'],
  ['[...data.list]', 'EXPR_FORBIDDEN_OPERATOR'],
  ['data.list.includes(...data.list)', 'EXPR_FORBIDDEN_OPERATOR'],
  // Regexes outside match(), and regexes RE2 cannot run in linear time.
  ['/x/.test(user.id)', 'EXPR_REGEX_PLACEMENT'],
  ['data.s.match(/(a)\\1/)', 'EXPR_REGEX_INVALID'],
  ['data.s.match(/a(?=b)/)', 'EXPR_REGEX_INVALID'],
  ['data.s.match(/a/y)', 'EXPR_REGEX_INVALID'],
  ['data.s.match(/[\\s\\S]{300}[\\s\\S]{300}x/)', 'EXPR_REGEX_INVALID'],
  // Size and depth.
  [`${'('.repeat(500)}1${')'.repeat(500)}`, 'EXPR_TOO_DEEP'],
  [`${'!'.repeat(2000)}true`, 'EXPR_TOO_DEEP'],
  [`data${'.a'.repeat(200)}`, 'EXPR_TOO_DEEP'],
  [`1${'+1'.repeat(1500)}`, 'EXPR_TOO_DEEP'],
  [`[${'0,'.repeat(1500)}0]`, 'EXPR_TOO_COMPLEX'],
  [`"${'x'.repeat(5000)}"`, 'RULE_TOO_LONG'],
  [`1${'0'.repeat(5000)}`, 'RULE_TOO_LONG'],
];

const file = (rule: string) => fileText({ record: { '*': {}, 'item/$id': { write: rule } } });

describe('rejected at check time', () => {
  it.each(
    REJECTED.map(([rule, code]) => [
      rule.length > 60 ? `${rule.slice(0, 57)}...` : rule,
      code,
      rule,
    ]),
  )('%s → %s', (_shown, code, rule) => {
    const errors = ruleErrors(rule, { pattern: 'item/$id' });
    expect(errors.length).toBeGreaterThan(0);
    expect(errors.map((e) => e.code)).toContain(code);
    for (const error of errors) expect(error.line).toBeGreaterThan(0);
  });

  it('rejects the whole file, so nothing of it can run', () => {
    const result = compilePermissions(file('process.exit(1)'));
    expect(result.ok).toBe(false);
  });
});

// Accepted rules that try their luck at run time; data is attacker-controlled.
const hostileData = JSON.parse(
  '{"__proto__": {"isAdmin": true}, "constructor": {"prototype": {"x": 1}}, "s": "aaaaaaaaaa", "list": [1], "key": "__proto__"}',
);

const AT_RUN_TIME: readonly (readonly [
  string,
  Record<string, unknown>,
  'denied' | 'error',
  string?,
])[] = [
  ['data["__pro" + "to__"].isAdmin === true', hostileData, 'error', 'RUNTIME_TYPE_ERROR'],
  ['data[data.key] !== undefined || user.isAdmin === true', hostileData, 'denied'],
  [
    'data["constr" + "uctor"]["proto" + "type"] !== undefined',
    hostileData,
    'error',
    'RUNTIME_TYPE_ERROR',
  ],
  ['user["con" + "structor"]["con" + "structor"]', {}, 'error', 'RUNTIME_TYPE_ERROR'],
  ['typeof data.s["constr" + "uctor"] !== "undefined"', hostileData, 'denied'],
  ['"__proto__" in data', hostileData, 'denied'],
  ['data.s.match(/(a+)+$/) !== null', { s: `${'a'.repeat(60_000)}!` }, 'denied'],
  ['data.s.match(/^(a|aa)+$/) !== null', { s: `${'a'.repeat(60_000)}!` }, 'denied'],
  ['data.s.match(data.re) !== null', { s: `${'a'.repeat(60_000)}!`, re: '(a+)+$' }, 'denied'],
  [
    'data.s.match(/^(a|aa)+$/) !== null',
    { s: 'a'.repeat(100_000) },
    'error',
    'RUNTIME_REGEX_LIMIT',
  ],
  ['data.s.match(/(.*a){20}/) !== null', { s: 'a'.repeat(60_000) }, 'error', 'RUNTIME_REGEX_LIMIT'],
  ['data.s.match(data.re) !== null', { s: 'aa', re: '(a)\\1' }, 'error', 'RUNTIME_REGEX_INVALID'],
  [
    'data.s.match(data.re) !== null',
    { s: 'aa', re: 'a'.repeat(2000) },
    'error',
    'RUNTIME_REGEX_INVALID',
  ],
  [
    'data.s.match(data.re) !== null',
    { s: 'aa', re: '[\\s\\S]{400}[\\s\\S]{400}' },
    'error',
    'RUNTIME_REGEX_INVALID',
  ],
  [
    `(data.s${' + data.s'.repeat(40)}).length > 0`,
    { s: 'x'.repeat(50_000) },
    'error',
    'RUNTIME_STRING_TOO_LONG',
  ],
  ['(name + name + name + name).length < 0', {}, 'denied'],
  ['1e400 === user.id || -1e400 === data', {}, 'denied'],
];

describe('hostile at run time', () => {
  const snapshot = () => ({
    globals: Object.getOwnPropertyNames(globalThis).sort(),
    objectProto: Object.getOwnPropertyNames(Object.prototype).sort(),
    arrayProto: Object.getOwnPropertyNames(Array.prototype).sort(),
    stringProto: Object.getOwnPropertyNames(String.prototype).sort(),
    functionProto: Object.getOwnPropertyNames(Function.prototype).sort(),
  });
  let before: ReturnType<typeof snapshot>;
  beforeAll(() => {
    before = snapshot();
  });
  afterAll(() => {
    // Nothing outside the evaluations was added or removed.
    expect(snapshot()).toEqual(before);
    expect(({} as Record<string, unknown>).isAdmin).toBeUndefined();
    expect(({} as Record<string, unknown>).x).toBeUndefined();
  });

  it.each(
    AT_RUN_TIME.map(
      ([rule, data, verdict, code]) => [rule.slice(0, 70), verdict, code, rule, data] as const,
    ),
  )('%s → %s %s', async (_shown, verdict, code, rule, data) => {
    const compiled = compilePermissions(file(rule));
    if (!compiled.ok) throw new Error(JSON.stringify(compiled.errors));
    const user = structuredClone(alice);
    const copy = JSON.stringify(data);
    for (const trace of [false, true]) {
      const result = await compiled.permissions.evaluate(
        { section: 'record', action: 'write', name: 'item/__proto__', user, data },
        mapLoader({}),
        { trace },
      );
      expect(result.verdict).toBe(verdict);
      expect(result.allowed).toBe(false);
      if (code !== undefined) expect(result.error?.code).toBe(code);
      if (trace) {
        const steps = (result.trace ?? []).filter((e) => e.kind === 'value').length;
        expect(steps).toBeLessThanOrEqual(limits.MAX_EVALUATION_STEPS);
      }
    }
    // The inputs are exactly as they were.
    expect(JSON.stringify(data)).toBe(copy);
    expect(user).toStrictEqual(alice);
  });

  it('binds $vars as plain strings even for names like __proto__', async () => {
    const compiled = compilePermissions(
      file('$id === "__proto__" && typeof data[$id] === "undefined"'),
    );
    if (!compiled.ok) throw new Error('invalid');
    const result = await compiled.permissions.evaluate({
      section: 'record',
      action: 'write',
      name: 'item/__proto__',
      user: alice,
      data: hostileData,
    });
    expect(result.verdict).toBe('allowed');
  });

  it('never hands a function to a rule, even if the host passes one', async () => {
    const compiled = compilePermissions(
      file('typeof data.f === "undefined" && typeof _("fn") === "object"'),
    );
    if (!compiled.ok) throw new Error('invalid');
    const sneaky = { f: () => 'escaped' };
    const result = await compiled.permissions.evaluate(
      { section: 'record', action: 'write', name: 'item/1', user: alice, data: sneaky },
      { loadRecord: () => () => 'escaped' },
    );
    expect(result.verdict).toBe('allowed');
  });

  it('matches patterns in linear time against long names', async () => {
    const text = fileText({
      record: { '*': { read: true }, '*a*a*a*a*a*a*a*a*a*b': { read: false } },
    });
    const compiled = compilePermissions(text);
    if (!compiled.ok) throw new Error('invalid');
    const result = await compiled.permissions.evaluate({
      section: 'record',
      action: 'read',
      name: 'a'.repeat(50_000),
      user: alice,
    });
    expect(result).toMatchObject({ verdict: 'allowed', rules: [{ pattern: '*' }] });
  });
});
