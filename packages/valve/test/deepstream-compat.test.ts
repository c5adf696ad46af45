import { describe, expect, it } from 'vitest';
import {
  alice,
  compileOk,
  evalRule,
  fileText,
  mapLoader,
  ruleErrors,
  singleRule,
} from './helpers.js';

// deepstream rules keep working unless they were unsafe; see VALVE.md Part 2.

describe('rules deepstream wrongly rejected', () => {
  it.each([
    ['data.name === "new"', { name: 'new' }],
    ['data.s === "alert("', { s: 'alert(' }],
    ['data.s === "function x() {}" && data.t !== "=>"', { s: 'function x() {}', t: '' }],
    ['data.note === "process.exit()"', { note: 'process.exit()' }],
  ])('accepts and runs %s', async (rule, data) => {
    expect(ruleErrors(rule)).toEqual([]);
    expect((await evalRule(rule, { data })).verdict).toBe('allowed');
  });
});

describe("deepstream's rule-parser cases", () => {
  it('accepts the rules its validator accepts (and that are safe)', () => {
    for (const rule of [
      'user.id === $userId',
      'data.a.b.c',
      'data.list.length > 2',
      'typeof data.x === "string"',
      'data.x ? 1 : 2',
      '!data.owner || data.owner == oldData.owner',
      '"bobo"',
      '2+2',
      '_("another-record"+data.userId)===$userId',
      'data.x.match(/^[0-9]*$/)',
      '["log","user"].indexOf(data.x) > -1',
      'user.id.toUpperCase() === $userId',
    ]) {
      expect(ruleErrors(rule, { pattern: 'r/$userId' }), rule).toEqual([]);
    }
  });

  it('does not mistake user.data for data in a read rule', () => {
    expect(ruleErrors('user.data.x === 1', { type: 'read' })).toEqual([]);
  });

  it('treats `data .firstname` (with a space) as data', async () => {
    const permissions = compileOk(
      fileText({ event: { '*': { publish: 'data .firstname === "Yasser"' } } }),
    );
    const emit = (firstname: string) =>
      permissions.evaluate({
        section: 'event',
        action: 'EMIT',
        name: 'e',
        user: alice,
        data: { firstname },
      });
    expect((await emit('Yasser')).verdict).toBe('allowed');
    expect((await emit('Wolfram')).verdict).toBe('denied');
  });

  it('requires exactly true where deepstream v4 let any non-false value through', async () => {
    expect((await evalRule('data.x.match(/^[0-9]*$/)', { data: { x: '123' } })).verdict).toBe(
      'denied',
    );
    expect((await evalRule('!!data.x.match(/^[0-9]*$/)', { data: { x: '123' } })).verdict).toBe(
      'allowed',
    );
    expect((await evalRule('_("missing")', {}, mapLoader({}))).verdict).toBe('denied');
    expect((await evalRule('data.allowed', { data: {} })).verdict).toBe('denied');
  });
});

describe("deepstream's permission specs", () => {
  it('checks an event price and fails normally without a payload', async () => {
    const permissions = compileOk(fileText({ event: { '*': { publish: 'data.price < 10' } } }));
    const emit = (data?: unknown) =>
      permissions.evaluate({
        section: 'event',
        action: 'EMIT',
        name: 'e',
        user: alice,
        ...(data === undefined ? {} : { data }),
      });
    expect((await emit({ price: 5 })).verdict).toBe('allowed');
    expect((await emit({ price: 15 })).verdict).toBe('denied');
    expect((await emit()).error?.code).toBe('RUNTIME_TYPE_ERROR');
  });

  it('combines user data and RPC data', async () => {
    const permissions = compileOk(
      fileText({
        rpc: {
          '*': { request: false },
          'trade/$asset': { request: 'user.data.role === "fx-trader" && data.assetClass === "fx"' },
        },
      }),
    );
    const request = (role: string, assetClass: string, name = 'trade/eur') =>
      permissions.evaluate({
        section: 'rpc',
        action: 'REQUEST',
        name,
        user: { ...alice, data: { role } },
        data: { assetClass },
      });
    expect((await request('fx-trader', 'fx')).verdict).toBe('allowed');
    expect((await request('fx-trader', 'bond')).verdict).toBe('denied');
    expect((await request('sales', 'fx')).verdict).toBe('denied');
    expect((await request('fx-trader', 'fx', 'other/cancel')).verdict).toBe('denied');
  });

  it('matches a listen rule against the listen pattern itself', async () => {
    const permissions = compileOk(
      fileText({ record: { '*': { listen: false }, 'user/*': { listen: true } } }),
    );
    const listen = (name: string) =>
      permissions.evaluate({ section: 'record', action: 'LISTEN', name, user: alice });
    expect((await listen('user/.*')).verdict).toBe('allowed');
    expect((await listen('.*')).verdict).toBe('denied');
  });

  it('sees CREATE then READ as the action numbers of getRecord on a missing record', async () => {
    const permissions = compileOk(
      fileText({
        record: { '*': { create: 'action === 15', read: 'action === 3 && action === "READ"' } },
      }),
    );
    const result = await permissions.evaluate({
      section: 'record',
      action: 'SUBSCRIBECREATEANDREAD',
      name: 'r',
      user: alice,
      oldData: null,
    });
    expect(result.verdict).toBe('allowed');
  });

  it('keeps the string-key action comparisons of the v3 docs working', async () => {
    const rule = 'action === "UPDATE" ? data.x === 1 : action === "PATCH" && data.x === 2';
    const permissions = singleRule(rule);
    const base = { section: 'record', name: 'r', user: alice, oldData: { x: 0 } } as const;
    expect(
      (await permissions.evaluate({ ...base, action: 'UPDATE', data: { x: 1 } })).verdict,
    ).toBe('allowed');
    expect(
      (await permissions.evaluate({ ...base, action: 'PATCH', path: 'x', data: 2 })).verdict,
    ).toBe('allowed');
    expect(
      (await permissions.evaluate({ ...base, action: 'PATCH', path: 'x', data: 1 })).verdict,
    ).toBe('denied');
  });
});
