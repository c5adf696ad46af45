import { describe, expect, it } from 'vitest';
import { compilePermissions, type Permissions, type ValveLoaders } from '../src/index.js';
import { CONSTANT_RULES, SEED_CASES, SEED_RULES, SEED_TEXT, user } from './seed-cases.js';

function seed(): Permissions {
  const compiled = compilePermissions(SEED_TEXT);
  if (!compiled.ok) throw new Error(JSON.stringify(compiled.errors));
  return compiled.permissions;
}

const loadersFor = (records: Record<string, unknown> = {}): ValveLoaders => ({
  loadRecord: async (name) => (Object.hasOwn(records, name) ? records[name] : null),
});

describe('the seed permissions file', () => {
  const permissions = seed();

  it('has 17 patterns and 35 rules', () => {
    expect(permissions.stats).toEqual({ patterns: 17, rules: 35 });
    expect(SEED_RULES).toHaveLength(35);
  });

  it('has an allowed and a denied case for every rule that is not a constant', () => {
    for (const rule of SEED_RULES) {
      const verdicts = new Set(SEED_CASES.filter((c) => c.rule === rule).map((c) => c.verdict));
      if (CONSTANT_RULES.has(rule)) expect(verdicts.size, rule).toBe(1);
      else
        expect([...verdicts].sort(), rule).toEqual(expect.arrayContaining(['allowed', 'denied']));
    }
  });

  it.each(SEED_CASES.map((c) => [c.rule, c.title, c] as const))(
    '%s: %s',
    async (rule, _title, seedCase) => {
      const result = await permissions.evaluate(seedCase.request, loadersFor(seedCase.records));
      expect(result.verdict).toBe(seedCase.verdict);
      expect(result.allowed).toBe(seedCase.verdict === 'allowed');
      const [section, pattern, type] = rule.split(' ');
      expect(result.rules.at(-1)).toMatchObject({ section, pattern, type });
    },
  );

  it('denies record notify: no pattern defines it, and there are no defaults', () => {
    const result = permissions.evaluate({
      section: 'record',
      action: 'notify',
      name: 'x',
      user: user('a'),
    });
    expect(result).toMatchObject({ verdict: 'denied', rules: [{ pattern: null, type: 'notify' }] });
  });

  it('falls back to "*" for rule types a specific pattern does not define', () => {
    expect(permissions.ruleFor('record', 'create', 'system-settings')).toBe('*');
    expect(permissions.ruleFor('event', 'subscribe', 'news/x')).toBe('*');
    expect(permissions.ruleFor('record', 'read', 'only-delete-egon-miller/a/b')).toBe('*');
  });

  it('lets only the owner getRecord a missing private record (create, then read)', async () => {
    const request = {
      section: 'record',
      action: 'SUBSCRIBECREATEANDREAD',
      name: 'public-read-private-write/alice',
      oldData: null,
    } as const;
    const owner = await permissions.evaluate({ ...request, user: user('alice') });
    expect(owner.verdict).toBe('allowed');
    expect(owner.rules.map((r) => r.type)).toEqual(['create', 'read']);
    const stranger = await permissions.evaluate({ ...request, user: user('bob') });
    expect(stranger).toMatchObject({
      verdict: 'denied',
      rules: [{ type: 'create', verdict: 'denied' }],
    });
    const existing = await permissions.evaluate({
      ...request,
      user: user('bob'),
      oldData: { bio: '' },
    });
    expect(existing).toMatchObject({ verdict: 'allowed', rules: [{ type: 'read' }] });
  });

  it('checks create and then write for setData, even on an existing record', async () => {
    const request = {
      section: 'record',
      action: 'CREATEANDUPDATE',
      name: 'public-read-private-write/alice',
      data: { a: 1 },
      oldData: { a: 0 },
    } as const;
    const stranger = await permissions.evaluate({ ...request, user: user('bob') });
    expect(stranger.rules.map((r) => [r.type, r.verdict])).toEqual([['create', 'denied']]);
    const owner = await permissions.evaluate({ ...request, user: user('alice') });
    expect(owner.rules.map((r) => [r.type, r.verdict])).toEqual([
      ['create', 'allowed'],
      ['write', 'allowed'],
    ]);
  });

  it('judges a PATCH of only-increment on the record with the patch applied', async () => {
    const patch = {
      section: 'record',
      action: 'PATCH',
      name: 'only-increment',
      path: 'value',
      user: user('a'),
    } as const;
    expect(
      (await permissions.evaluate({ ...patch, data: 5, oldData: { value: 4, other: 1 } })).verdict,
    ).toBe('allowed');
    expect((await permissions.evaluate({ ...patch, data: 3, oldData: { value: 4 } })).verdict).toBe(
      'denied',
    );
  });
});
