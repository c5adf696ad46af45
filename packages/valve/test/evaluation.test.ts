import { describe, expect, it } from 'vitest';
import { createUser, type EvaluationResult, type ValveLoaders } from '../src/index.js';
import { alice, compileOk, evalRule, fileText, mapLoader, singleRule } from './helpers.js';

const isPromise = (value: unknown): boolean => value instanceof Promise;

describe('synchronous and asynchronous evaluation', () => {
  it('answers synchronously when no record has to be loaded', () => {
    const permissions = singleRule('data.x === 1 && oldData.y === 2');
    const result = permissions.evaluate({
      section: 'record',
      action: 'write',
      name: 'n',
      user: alice,
      data: { x: 1 },
      oldData: { y: 2 },
    });
    expect(isPromise(result)).toBe(false);
    expect((result as EvaluationResult).verdict).toBe('allowed');
  });

  it('stays synchronous when the loader answers synchronously', () => {
    const permissions = singleRule('_("a").ok === true');
    const result = permissions.evaluate(
      { section: 'record', action: 'write', name: 'n', user: alice },
      mapLoader({ a: { ok: true } }, 'sync'),
    );
    expect(isPromise(result)).toBe(false);
    expect((result as EvaluationResult).verdict).toBe('allowed');
  });

  it('returns a promise when a load is asynchronous', async () => {
    const permissions = singleRule('_("a").ok === true');
    const result = permissions.evaluate(
      { section: 'record', action: 'write', name: 'n', user: alice },
      mapLoader({ a: { ok: true } }),
    );
    expect(isPromise(result)).toBe(true);
    expect((await result).verdict).toBe('allowed');
  });

  it('shares frozen results for true and false rules', () => {
    const permissions = singleRule('data === 1');
    const request = { section: 'record', action: 'write', name: 'n', user: alice } as const;
    const first = permissions.evaluate({ ...request, data: 1 });
    expect(first).toBe(permissions.evaluate({ ...request, data: 1 }));
    expect(Object.isFrozen(first)).toBe(true);
  });
});

describe('cross-references with _()', () => {
  it('returns the data of existing records and null for missing ones', async () => {
    const loader = mapLoader({ 'item/a': { stock: 1 } });
    expect(
      (await evalRule('_("item/a").stock === 1 && _("item/b") === null', {}, loader)).verdict,
    ).toBe('allowed');
  });

  it('denies without an error for the documented null-check idiom', async () => {
    const result = await evalRule('_("x") !== null && _("x").a === 1', {}, mapLoader({}));
    expect(result).toMatchObject({ verdict: 'denied', rules: [{ result: false }] });
  });

  it('is an error to read a field of a missing record', async () => {
    const result = await evalRule('_("missing").a === 1', {}, mapLoader({}));
    expect(result).toMatchObject({ verdict: 'error', error: { code: 'RUNTIME_TYPE_ERROR' } });
  });

  it('loads a record once per evaluation, however often it is used', async () => {
    const loader = mapLoader({ a: { b: 'a' } });
    const result = await evalRule(
      '_("a").b === "a" && _(_("a").b).b === "a" && _("a") !== null',
      {},
      loader,
    );
    expect(result.verdict).toBe('allowed');
    expect(loader.calls).toEqual(['a']);
  });

  it('loads independent records in parallel, in one round', async () => {
    const started: string[] = [];
    const pending: (() => void)[] = [];
    const loaders: ValveLoaders = {
      loadRecord: (name) => {
        started.push(name);
        return new Promise((resolve) => pending.push(() => resolve({ v: name })));
      },
    };
    const result = evalRule('_("a").v + _("b").v === "ab"', {}, loaders);
    await new Promise((resolve) => setImmediate(resolve));
    expect(started).toEqual(['a', 'b']);
    for (const resolve of pending) resolve();
    expect((await result).verdict).toBe('allowed');
  });

  it('fetches references that depend on no other record in the first round', async () => {
    const loader = mapLoader({ a: { v: 'a' }, b: { v: 'b' }, c: { v: 'c' }, d: { v: 'd' } });
    const rule = '_("a").v + _("b").v + _("c").v + _("d").v === "abcd"';
    const result = await evalRule(rule, {}, loader, { trace: true });
    expect(result.verdict).toBe('allowed');
    const rounds = (result.trace ?? []).flatMap((e) => (e.kind === 'load' ? [e.round] : []));
    expect(rounds).toEqual([1, 1, 1, 1]);
  });

  it('does not fail on a record fetched ahead but never needed', async () => {
    const loaders: ValveLoaders = {
      loadRecord: (name) =>
        name === 'broken' ? Promise.reject(new Error('down')) : Promise.resolve({ ok: true }),
    };
    const result = await evalRule(
      'data.useBroken ? _("broken").ok : _("fine").ok',
      { data: { useBroken: false } },
      loaders,
    );
    expect(result.verdict).toBe('allowed');
    const needed = await evalRule(
      'data.useBroken ? _("broken").ok : _("fine").ok',
      { data: { useBroken: true } },
      loaders,
    );
    expect(needed.error?.code).toBe('RUNTIME_LOAD_ERROR');
  });

  it('follows dependent references up to maxRuleIterations - 1 rounds', async () => {
    const records = {
      r1: { next: 'r2' },
      r2: { next: 'r3' },
      r3: { next: 'r4' },
      r4: { ok: true },
    };
    const twoDeep = '_(_("r1").next).next === "r3"';
    expect((await evalRule(twoDeep, {}, mapLoader(records))).verdict).toBe('allowed');
    const threeDeep = '_(_(_("r1").next).next).next === "r4"';
    const loader = mapLoader(records);
    const failed = await evalRule(threeDeep, {}, loader);
    expect(failed).toMatchObject({
      verdict: 'error',
      error: { code: 'RUNTIME_LOAD_ROUNDS_EXCEEDED' },
    });
    expect(loader.calls).toEqual(['r1', 'r2']);
    const wider = await evalRule(threeDeep, {}, mapLoader(records), { maxRuleIterations: 4 });
    expect(wider.verdict).toBe('allowed');
    const none = await evalRule('_("r1") !== null', {}, mapLoader(records), {
      maxRuleIterations: 1,
    });
    expect(none.error?.code).toBe('RUNTIME_LOAD_ROUNDS_EXCEEDED');
  });

  it('needs a string name', async () => {
    for (const rule of ['_(1)', '_(data)', '_(null)', '_(undefined)']) {
      const result = await evalRule(rule, { data: {} }, mapLoader({}));
      expect(result.error?.code, rule).toBe('RUNTIME_CROSS_REFERENCE_TYPE');
    }
  });

  it('loads names containing "undefined" like any other', async () => {
    const loader = mapLoader({ 'item/undefined': { stock: 1 } });
    expect((await evalRule('_("item/" + data.id).stock === 1', { data: {} }, loader)).verdict).toBe(
      'allowed',
    );
  });

  it('turns loader failures into a load error, sync or async', async () => {
    const rejecting: ValveLoaders = { loadRecord: () => Promise.reject(new Error('storage down')) };
    const throwing: ValveLoaders = {
      loadRecord: () => {
        throw new Error('cache down');
      },
    };
    for (const loaders of [rejecting, throwing]) {
      const result = await evalRule('_("a") === null', {}, loaders);
      expect(result).toMatchObject({ verdict: 'error', error: { code: 'RUNTIME_LOAD_ERROR' } });
    }
  });

  it('is an error without a loader', async () => {
    expect((await evalRule('_("a") === null')).error?.code).toBe('RUNTIME_LOADER_MISSING');
  });

  it('limits the records one evaluation may load', async () => {
    const rule = Array.from({ length: 33 }, (_, i) => `_("r${i}") === null`).join(' && ');
    const result = await evalRule(rule, {}, mapLoader({}));
    expect(result.error?.code).toBe('RUNTIME_CROSS_REFERENCE_LIMIT');
  });

  it('works in every section', async () => {
    const permissions = compileOk(
      fileText({
        event: { '*': { publish: '_(name).open === true && _(data.owner).admin === true' } },
      }),
    );
    const result = await permissions.evaluate(
      { section: 'event', action: 'EMIT', name: 'room', user: alice, data: { owner: 'users/o' } },
      mapLoader({ room: { open: true }, 'users/o': { admin: true } }),
    );
    expect(result.verdict).toBe('allowed');
  });
});

describe('oldData', () => {
  it('is loaded only when the rule references it and it is not in hand', async () => {
    const loader = mapLoader({ thing: { owner: 'alice' } });
    expect((await evalRule('oldData.owner === user.id', {}, loader)).verdict).toBe('allowed');
    expect(loader.calls).toEqual(['thing']);
    const unused = mapLoader({ thing: {} });
    await evalRule('user.id === "alice"', {}, unused);
    expect(unused.calls).toEqual([]);
    const inHand = mapLoader({ thing: { owner: 'bob' } });
    expect(
      (await evalRule('oldData.owner === "carol"', { oldData: { owner: 'carol' } }, inHand))
        .verdict,
    ).toBe('allowed');
    expect(inHand.calls).toEqual([]);
  });

  it('is null for a missing record, and a rule ending in oldData still loads it', async () => {
    expect((await evalRule('oldData === null', {}, mapLoader({}))).verdict).toBe('allowed');
    expect((await evalRule('!!oldData', {}, mapLoader({ thing: {} }))).verdict).toBe('allowed');
  });

  it('shares its load with _(name)', async () => {
    const loader = mapLoader({ thing: { v: 1 } });
    expect((await evalRule('oldData.v === _(name).v', {}, loader)).verdict).toBe('allowed');
    expect(loader.calls).toEqual(['thing']);
  });
});

describe('PATCH', () => {
  const patch = { action: 'PATCH', path: 'profile.age' } as const;

  it('judges the whole record with the patch applied, leaving oldData untouched', async () => {
    const oldData = { profile: { age: 30, name: 'A' }, other: true };
    const rule =
      'data.profile.age === 31 && data.profile.name === "A" && data.other && oldData.profile.age === 30';
    expect((await evalRule(rule, { ...patch, data: 31, oldData })).verdict).toBe('allowed');
    expect(oldData.profile.age).toBe(30);
  });

  it('creates missing containers along the path, arrays for [n]', async () => {
    const rule = 'data.a.b[1].c === "x" && data.a.b.length === 2';
    expect(
      (await evalRule(rule, { action: 'PATCH', path: 'a.b[1].c', data: 'x', oldData: {} })).verdict,
    ).toBe('allowed');
  });

  it('loads the stored record to patch when it is not in hand', async () => {
    const result = await evalRule(
      'data.profile.age === 5',
      { ...patch, data: 5 },
      mapLoader({ thing: { profile: {} } }),
    );
    expect(result.verdict).toBe('allowed');
  });

  it('is an error on a missing record or a dangerous path', async () => {
    const missing = await evalRule('data !== null', { ...patch, data: 1, oldData: null });
    expect(missing.error?.code).toBe('RUNTIME_PATCH_MISSING_RECORD');
    for (const path of ['__proto__.polluted', 'a.constructor.prototype', 'a..b']) {
      const result = await evalRule('data !== null', {
        action: 'PATCH',
        path,
        data: 1,
        oldData: {},
      });
      expect(result.error?.code, path).toBe('RUNTIME_PATCH_INVALID_PATH');
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('requires a path', async () => {
    const result = await evalRule('true', { action: 'PATCH', data: 1 });
    expect(result.error).toEqual({ code: 'REQUEST_INVALID', message: 'PATCH needs a path' });
  });

  it('applies to CREATEANDPATCH after the create rule', async () => {
    const permissions = compileOk(
      fileText({ record: { '*': { create: 'user.id === "alice"', write: 'data.a.b === 2' } } }),
    );
    const result = await permissions.evaluate({
      section: 'record',
      action: 'CREATEANDPATCH',
      name: 'n',
      path: 'a.b',
      data: 2,
      user: alice,
      oldData: { a: {} },
    });
    expect(result.rules.map((r) => [r.type, r.verdict])).toEqual([
      ['create', 'allowed'],
      ['write', 'allowed'],
    ]);
  });
});

describe('requests', () => {
  const permissions = compileOk(
    fileText({
      record: { '*': { read: true, write: 'action === 18', create: 'false' } },
      presence: { '*': { allow: 'name === undefined' }, 'user/$id': { allow: '$id === user.id' } },
    }),
  );
  const base = { section: 'record', name: 'n', user: alice } as const;

  it('accepts rule types, protocol action names and protobuf numbers', async () => {
    expect((await permissions.evaluate({ ...base, action: 'write' })).verdict).toBe('allowed');
    expect((await permissions.evaluate({ ...base, action: 'UPDATE' })).verdict).toBe('allowed');
    expect((await permissions.evaluate({ ...base, action: 18 })).verdict).toBe('allowed');
    expect((await permissions.evaluate({ ...base, action: 'SUBSCRIBE' })).rules[0]?.type).toBe(
      'read',
    );
  });

  it('passes actions that are not permissioned, with no rules run', async () => {
    expect(await permissions.evaluate({ ...base, action: 'UNSUBSCRIBE' })).toEqual({
      verdict: 'allowed',
      allowed: true,
      rules: [],
    });
  });

  it('stops at the first verdict of a compound action', async () => {
    const result = await permissions.evaluate({ ...base, action: 'CREATEANDUPDATE', oldData: {} });
    expect(result.rules.map((r) => r.type)).toEqual(['create']);
  });

  it('checks presence *_ALL queries with no name', async () => {
    expect(
      (await permissions.evaluate({ section: 'presence', action: 'QUERY_ALL', user: alice }))
        .verdict,
    ).toBe('allowed');
    expect(
      (
        await permissions.evaluate({
          section: 'presence',
          action: 'QUERY',
          name: 'user/alice',
          user: alice,
        })
      ).verdict,
    ).toBe('allowed');
    expect(
      (
        await permissions.evaluate({
          section: 'presence',
          action: 'QUERY',
          name: 'user/bob',
          user: alice,
        })
      ).verdict,
    ).toBe('denied');
  });

  it.each([
    [{ ...base, section: 'records', action: 'read' }, 'unknown section records'],
    [{ ...base, action: 'FLY' }, 'unknown action FLY for section record'],
    [{ ...base, action: 'publish' }, 'unknown action publish for section record'],
    [{ ...base, action: 999 }, 'unknown action 999'],
    [{ ...base, action: 'read', name: undefined }, 'name must be a string'],
    [{ ...base, action: 'read', user: null }, 'user must be an object'],
    [
      { ...base, action: 'read', user: { id: '', isAuthenticated: true, data: null } },
      'user.id must be a non-empty string',
    ],
    [
      { ...base, action: 'read', user: { id: 'OPEN', data: null } },
      'user.isAuthenticated must be true or false',
    ],
    [{ ...base, action: 'read', now: 'noon' }, 'now must be a number'],
    [{ ...base, action: 'write', path: 3 }, 'path must be a string'],
  ])('rejects a malformed request %#', async (request, message) => {
    const result = await permissions.evaluate(request as never);
    expect(result).toMatchObject({
      verdict: 'error',
      allowed: false,
      error: { code: 'REQUEST_INVALID' },
    });
    expect(result.error?.message).toContain(message);
  });
});

describe('createUser', () => {
  it('builds the user rules see from a login, with serverData as data', () => {
    expect(createUser({ id: 'u1', isAuthenticated: true, serverData: { role: 'admin' } })).toEqual({
      id: 'u1',
      isAuthenticated: true,
      data: { role: 'admin' },
    });
    expect(createUser({ id: 'anon-1', isAuthenticated: false }).data).toBeNull();
  });

  it('refuses a login without an id', () => {
    expect(() => createUser({ id: '', isAuthenticated: true })).toThrow(
      'user.id must be a non-empty string',
    );
  });
});

describe('trace', () => {
  it('shows the rule chosen, variables bound, records loaded and sub-expression values', async () => {
    const permissions = compileOk(
      fileText({ record: { '*': {}, 'order/$id': { write: '_("stock/" + $id).n > 0' } } }),
    );
    const result = await permissions.evaluate(
      { section: 'record', action: 'write', name: 'order/7', user: alice },
      mapLoader({ 'stock/7': { n: 2 } }),
      { trace: true },
    );
    expect(result.verdict).toBe('allowed');
    const trace = result.trace ?? [];
    expect(trace[0]).toEqual({
      kind: 'rule',
      section: 'record',
      type: 'write',
      pattern: 'order/$id',
      action: 18,
      actionName: 'UPDATE',
    });
    expect(trace).toContainEqual({ kind: 'bind', variable: '$id', value: '7' });
    expect(trace).toContainEqual({ kind: 'load', record: 'stock/7', round: 1, found: true });
    expect(trace).toContainEqual({
      kind: 'value',
      round: 2,
      expression: '_("stock/" + $id).n',
      type: 'number',
      value: 2,
    });
    expect(trace.at(-1)).toEqual({
      kind: 'result',
      type: 'write',
      pattern: 'order/$id',
      verdict: 'allowed',
      result: true,
    });
  });

  it('gives the same verdicts as the untraced evaluation', async () => {
    const permissions = singleRule(
      'action === "UPDATE" && data?.a?.b !== 1 && [1, 2].includes(data.n)',
    );
    for (const data of [{ n: 1 }, { n: 3 }, { a: { b: 1 }, n: 1 }, null]) {
      const request = { section: 'record', action: 'write', name: 'x', user: alice, data } as const;
      const plain = await permissions.evaluate(request);
      const traced = await permissions.evaluate(request, undefined, { trace: true });
      expect(traced.verdict).toBe(plain.verdict);
      expect(traced.error).toEqual(plain.error);
    }
  });

  it('notes the create step skipped for an existing record', async () => {
    const permissions = compileOk(fileText());
    const result = await permissions.evaluate(
      { section: 'record', action: 'SUBSCRIBECREATEANDREAD', name: 'x', user: alice, oldData: {} },
      undefined,
      { trace: true },
    );
    expect(result.trace).toContainEqual({
      kind: 'skip',
      type: 'create',
      reason: 'the record exists',
    });
  });
});
