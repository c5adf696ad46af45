import { describe, expect, it } from 'vitest';
import { check, compilePermissions, VALVE_ERROR_CODES } from '../src/index.js';
import { compileErrors, compileOk, fileText, ruleErrors } from './helpers.js';

const BASE_YAML = `record:
  "*":
    read: true
event:
  "*":
    publish: true
rpc:
  "*":
    request: true
presence:
  "*":
    allow: true
`;

describe('check()', () => {
  it('accepts a minimal YAML file and reports counts', () => {
    expect(check(BASE_YAML)).toEqual({ ok: true, errors: [], stats: { patterns: 4, rules: 4 } });
  });

  it('accepts JSON, including tab-indented JSON', () => {
    expect(check(fileText()).ok).toBe(true);
    expect(check(fileText().replaceAll('  ', '\t')).ok).toBe(true);
  });

  it('accepts YAML anchors, aliases and merge keys', () => {
    const text = `${BASE_YAML.replace(
      '    read: true\n',
      '    read: true\n  "a/$id": &owner\n    write: "user.id === $id"\n  "b/$id": *owner\n  "c/$id":\n    <<: *owner\n    read: false\n',
    )}`;
    const permissions = compileOk(text);
    expect(permissions.ruleFor('record', 'write', 'b/x')).toBe('b/$id');
    expect(permissions.ruleFor('record', 'write', 'c/x')).toBe('c/$id');
    expect(permissions.ruleFor('record', 'read', 'c/x')).toBe('c/$id');
  });

  it('returns every error at once, in file order, with codes from the closed table', () => {
    const text = `record:
  "*":
    read: "data.x"
    write: "a = 1"
  "/bad":
    read: true
event:
  "x":
    publish: 5
rpc:
  "*":
    write: true
bogus: {}
`;
    const errors = compileErrors(text);
    expect(errors.map((e) => [e.code, e.line, e.column])).toEqual([
      ['SECTION_MISSING', 1, 1],
      ['EXPR_DATA_NOT_AVAILABLE', 3, 12],
      ['EXPR_ASSIGNMENT', 4, 15],
      ['PATTERN_INVALID', 5, 3],
      ['ROOT_PATTERN_MISSING', 7, 1],
      ['RULE_INVALID_VALUE', 9, 14],
      ['RULE_TYPE_UNKNOWN', 12, 5],
      ['SECTION_UNKNOWN', 13, 1],
    ]);
    for (const error of errors) {
      expect(Object.keys(VALVE_ERROR_CODES)).toContain(error.code);
      expect(VALVE_ERROR_CODES[error.code]).toBe('check');
      expect(error.endLine * 10_000 + error.endColumn).toBeGreaterThan(
        error.line * 10_000 + error.column,
      );
    }
    expect(errors.find((e) => e.code === 'RULE_TYPE_UNKNOWN')?.path).toEqual(['rpc', '*', 'write']);
  });

  it.each([
    ['record:\n  "*": {read: true\n', 'FILE_SYNTAX'],
    ['record: 1\nrecord: 2\n', 'FILE_SYNTAX'],
    ['- a\n- b\n', 'FILE_NOT_OBJECT'],
    ['just text', 'FILE_NOT_OBJECT'],
    ['', 'FILE_NOT_OBJECT'],
    ['{"record": {"*": {"read": true}}', 'FILE_SYNTAX'],
  ])('rejects a broken file %j with %s', (text, code) => {
    expect(compileErrors(text).map((e) => e.code)).toContain(code);
  });

  it('rejects a file over the size limit without parsing it', () => {
    const errors = compileErrors(`${BASE_YAML}#${'x'.repeat(1_000_001)}`);
    expect(errors.map((e) => e.code)).toEqual(['FILE_TOO_LARGE']);
  });

  it('rejects a file nested deeper than the limit before composing it', () => {
    // Composed, 5000 open brackets recursed to the stack limit, where V8 could
    // die compiling a regular expression instead of throwing.
    for (const deep of ['['.repeat(5000), `record:\n  "*":\n    read: ${'['.repeat(64)}`]) {
      const errors = compileErrors(deep);
      expect(errors.map((e) => e.code)).toEqual(['FILE_TOO_LARGE']);
      expect(errors[0]?.message).toContain('64 levels deep');
    }
    // Within the limit the file is read as usual (here: a syntax error).
    expect(compileErrors('['.repeat(60)).map((e) => e.code)).toContain('FILE_SYNTAX');
  });

  it.each([
    [{ record: {} }, 'SECTION_INVALID'],
    [{ record: [] }, 'SECTION_INVALID'],
    [{ record: { a: { read: true } } }, 'ROOT_PATTERN_MISSING'],
    [{ record: { '*': true } }, 'RULES_NOT_OBJECT'],
    [{ record: { '*': {}, '': { read: true } } }, 'PATTERN_INVALID'],
    [{ record: { '*': {}, '/x': { read: true } } }, 'PATTERN_INVALID'],
    [{ record: { '*': {}, a$$x: { read: true } } }, 'PATTERN_INVALID'],
    [{ record: { '*': {}, 'bla/$-': { read: true } } }, 'PATTERN_INVALID'],
    [{ record: { '*': {}, ['x'.repeat(1025)]: { read: true } } }, 'PATTERN_INVALID'],
    [{ rpc: { '*': { write: true } } }, 'RULE_TYPE_UNKNOWN'],
    [{ record: { '*': { read: 1 } } }, 'RULE_INVALID_VALUE'],
    [{ record: { '*': { read: null } } }, 'RULE_INVALID_VALUE'],
    [{ record: { '*': { read: ['true'] } } }, 'RULE_INVALID_VALUE'],
    [{ record: { '*': { read: '' } } }, 'RULE_EMPTY'],
    [{ record: { '*': { read: `true${' '.repeat(4096)}` } } }, 'RULE_TOO_LONG'],
  ])('rejects %j with %s', (sections, code) => {
    expect(compileErrors(fileText(sections as never)).map((e) => e.code)).toContain(code);
  });

  it('names the section and path in pattern and rule errors, as deepstream did', () => {
    const [error] = compileErrors(fileText({ record: { '*': {}, 'bla/$-': { read: true } } }));
    expect(error?.message).toBe(
      'invalid variable name $-; a $variable is $ followed by letters and digits (pattern bla/$- in section record)',
    );
    const [unknown] = compileErrors(fileText({ rpc: { '*': { write: true } } }));
    expect(unknown?.message).toContain('unknown rule type write in section rpc');
  });

  it('rejects maxRuleIterations below 1', () => {
    const result = compilePermissions(BASE_YAML, { maxRuleIterations: 0 });
    expect(result.ok).toBe(false);
    expect(result.errors.map((e) => e.code)).toEqual(['OPTION_INVALID']);
  });
});

describe('positions of expression errors', () => {
  const at = (text: string) => compileErrors(text).map((e) => [e.code, e.line, e.column]);
  const withRule = (line: string) =>
    BASE_YAML.replace('    read: true\n', `    read: true\n${line}\n`);

  it('points into plain, single-quoted and double-quoted scalars, escapes included', () => {
    expect(at(withRule('    write: user.id = 1'))).toEqual([['EXPR_ASSIGNMENT', 4, 20]]);
    expect(at(withRule("    write: 'user.id === ''a'' = 1'"))).toEqual([
      ['EXPR_ASSIGNMENT', 4, 31],
    ]);
    expect(at(withRule('    write: "user.id === \\"a\\" || process"'))).toEqual([
      ['EXPR_UNKNOWN_IDENTIFIER', 4, 34],
    ]);
    expect(at(withRule('    write: "\\u0075ser.id || process"'))).toEqual([
      ['EXPR_UNKNOWN_IDENTIFIER', 4, 29],
    ]);
  });

  it('points into block scalars', () => {
    expect(at(withRule('    write: |\n      user.id === "a" &&\n        process.version'))).toEqual(
      [['EXPR_UNKNOWN_IDENTIFIER', 6, 9]],
    );
  });

  it('points into JSON strings', () => {
    const text = fileText({ record: { '*': { write: 'user.id === "x" || globalThis' } } });
    const line = text.split('\n').findIndex((l) => l.includes('globalThis')) + 1;
    const column = text.split('\n')[line - 1]!.indexOf('globalThis') + 1;
    expect(at(text)).toEqual([['EXPR_UNKNOWN_IDENTIFIER', line, column]]);
  });
});

describe('data and oldData per rule type (detected on the AST)', () => {
  it.each([
    ['record', 'create', 'data.x', 'EXPR_DATA_NOT_AVAILABLE'],
    ['record', 'create', 'oldData.x', 'EXPR_OLD_DATA_NOT_AVAILABLE'],
    ['record', 'read', 'data.x', 'EXPR_DATA_NOT_AVAILABLE'],
    ['record', 'delete', 'data', 'EXPR_DATA_NOT_AVAILABLE'],
    ['record', 'listen', 'oldData', 'EXPR_OLD_DATA_NOT_AVAILABLE'],
    ['record', 'notify', 'data', 'EXPR_DATA_NOT_AVAILABLE'],
    ['event', 'publish', 'oldData.x', 'EXPR_OLD_DATA_NOT_AVAILABLE'],
    ['event', 'listen', 'data', 'EXPR_DATA_NOT_AVAILABLE'],
    ['rpc', 'provide', 'data.x', 'EXPR_DATA_NOT_AVAILABLE'],
    ['rpc', 'request', 'oldData', 'EXPR_OLD_DATA_NOT_AVAILABLE'],
    ['presence', 'allow', 'data', 'EXPR_DATA_NOT_AVAILABLE'],
  ] as const)('%s %s: %s → %s', (section, type, rule, code) => {
    expect(ruleErrors(rule, { section, type }).map((e) => e.code)).toEqual([code]);
  });

  it.each([
    ['record', 'read', 'oldData.owner === user.id'],
    ['record', 'write', 'data.x > oldData.x'],
    ['record', 'delete', '!!oldData'],
    ['record', 'read', 'user.data.x === "data" && oldData.data === 1'],
    ['event', 'publish', 'data .price < 10'],
    ['event', 'subscribe', 'data === undefined'],
    ['rpc', 'request', 'typeof data.firstname === "string"'],
  ] as const)('%s %s: %s is fine', (section, type, rule) => {
    expect(ruleErrors(rule, { section, type })).toEqual([]);
  });

  it('reports the rule type and section like deepstream', () => {
    const [error] = ruleErrors('oldData.x', { section: 'event', type: 'publish' });
    expect(error?.message).toBe('rule publish for event does not support oldData');
  });
});

describe('Permissions.mayLoad()', () => {
  const permissions = compileOk(`record:
  "*":
    read: true
    write: "data.owner === user.id"
  "own/$id":
    read: "user.id === $id"
    write: "oldData === null || oldData.owner === user.id"
  "ref/$id":
    read: "_('users/' + user.id).admin === true"
  "open/$id":
    write: "data.x === 1"
event:
  "*":
    publish: "user.id !== 'blocked'"
  "ref/$id":
    publish: "_('flags/' + $id).on"
rpc:
  "*":
    request: true
presence:
  "*":
    allow: true
`);

  it('is false when no rule of the action reads a record', () => {
    expect(permissions.mayLoad('event', 'EMIT', 'chat/1')).toBe(false);
    expect(permissions.mayLoad('event', 'publish', 'chat/1')).toBe(false);
    expect(permissions.mayLoad('record', 'read', 'own/alice')).toBe(false);
    // A whole-record write's data is the message's own.
    expect(permissions.mayLoad('record', 'UPDATE', 'open/1')).toBe(false);
  });

  it('is true for cross-references, oldData and patched data', () => {
    expect(permissions.mayLoad('event', 'EMIT', 'ref/1')).toBe(true);
    expect(permissions.mayLoad('record', 'READ', 'ref/1')).toBe(true);
    expect(permissions.mayLoad('record', 'UPDATE', 'own/alice')).toBe(true);
    // A patch's data is the stored record with the patch applied.
    expect(permissions.mayLoad('record', 'PATCH', 'open/1', true)).toBe(true);
  });

  it('is true when a step runs only for a missing record, and for actions it does not know', () => {
    expect(permissions.mayLoad('record', 'SUBSCRIBECREATEANDREAD', 'x')).toBe(true);
    expect(permissions.mayLoad('event', 'NO_SUCH_ACTION', 'x')).toBe(true);
  });

  it('agrees with evaluate(): with no loaders, a rule it calls load-free decides synchronously', () => {
    const user = { id: 'bob', isAuthenticated: false, data: null };
    for (const name of ['chat/1', 'blocked/1']) {
      expect(permissions.mayLoad('event', 'EMIT', name)).toBe(false);
      const result = permissions.evaluate({
        section: 'event',
        action: 'EMIT',
        name,
        user,
        data: 1,
      });
      expect(result).not.toBeInstanceOf(Promise);
      expect((result as { verdict: string }).verdict).toBe('allowed');
    }
    const blocked = { id: 'blocked', isAuthenticated: false, data: null };
    const denied = permissions.evaluate({
      section: 'event',
      action: 'EMIT',
      name: 'x',
      user: blocked,
    });
    expect((denied as { verdict: string }).verdict).toBe('denied');
  });
});
