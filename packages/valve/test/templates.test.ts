import { describe, expect, it } from 'vitest';
import {
  check,
  compilePermissions,
  isTemplateName,
  type Permissions,
  RULE_TYPES,
  SECTIONS,
  TEMPLATE_NAMES,
  TEMPLATES,
  type TemplateName,
  type ValveRequest,
} from '../src/index.js';

// The starter rules a new app may begin with: each compiles, and allows and
// denies what its description promises.

const compiled = (name: TemplateName): Permissions => {
  const result = compilePermissions(TEMPLATES[name].valve);
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  return result.permissions;
};

const anonymous = { id: 'ada', isAuthenticated: false, data: null };
const alice = { id: 'c0ffee00-1234-4abc-8def-000000000001', isAuthenticated: true, data: {} };
const bob = { id: 'b0b', isAuthenticated: true, data: {} };

/** Every section and rule type, on a name and for a user. */
const everyRequest = (user: ValveRequest['user'], name: string): ValveRequest[] =>
  SECTIONS.flatMap((section) =>
    RULE_TYPES[section].map((action) => ({ section, action, name, user, data: {}, oldData: {} })),
  );

const verdict = (permissions: Permissions, request: ValveRequest) =>
  (permissions.evaluate(request, { loadRecord: () => null }) as { verdict: string }).verdict;

describe('starter templates', () => {
  it.each(TEMPLATE_NAMES)('%s is a valid Valve file with every section', (name) => {
    const report = check(TEMPLATES[name].valve);
    expect(report.errors).toEqual([]);
    expect(report.ok).toBe(true);
    expect(TEMPLATES[name].name).toBe(name);
    for (const section of SECTIONS) expect(TEMPLATES[name].valve).toMatch(`\n${section}:\n`);
  });

  it('knows its names', () => {
    expect(TEMPLATE_NAMES).toEqual(['development', 'signed-in', 'locked']);
    expect(isTemplateName('locked')).toBe(true);
    expect(isTemplateName('open')).toBe(false);
    expect(isTemplateName(undefined)).toBe(false);
  });

  it('development allows every action to everyone, logged in or not', () => {
    const permissions = compiled('development');
    for (const user of [anonymous, alice])
      for (const request of everyRequest(user, 'anything/at/all'))
        expect(verdict(permissions, request), `${request.section} ${request.action}`).toBe(
          'allowed',
        );
    // The compound actions the client sends: setData (create then write) and getRecord.
    expect(
      verdict(permissions, {
        section: 'record',
        action: 'CREATEANDUPDATE',
        name: 'hello/world',
        user: anonymous,
        data: { text: 'hi' },
        oldData: null,
      }),
    ).toBe('allowed');
  });

  it('locked denies every action to everyone', () => {
    const permissions = compiled('locked');
    for (const user of [anonymous, alice])
      for (const request of everyRequest(user, `users/${alice.id}/x`))
        expect(verdict(permissions, request), `${request.section} ${request.action}`).toBe(
          'denied',
        );
  });

  describe('signed-in', () => {
    const permissions = compiled('signed-in');

    it('lets a user create, read, write and delete the records under users/<their id>/', () => {
      for (const action of ['create', 'read', 'write', 'delete', 'CREATEANDUPDATE'])
        expect(
          verdict(permissions, {
            section: 'record',
            action,
            name: `users/${alice.id}/notes`,
            user: alice,
            data: { text: 'mine' },
            oldData: null,
          }),
          action,
        ).toBe('allowed');
    });

    it("denies another user's records, records outside users/, and listen/notify", () => {
      const record = (name: string, action: string, user = bob) =>
        verdict(permissions, { section: 'record', action, name, user, data: {}, oldData: {} });
      for (const action of ['create', 'read', 'write', 'delete'])
        expect(record(`users/${alice.id}/notes`, action), action).toBe('denied');
      expect(record('shared/notes', 'write')).toBe('denied');
      expect(record('users/b0b', 'write')).toBe('denied');
      expect(record('users/b0b/x', 'listen')).toBe('denied');
      expect(record('users/b0b/x', 'notify')).toBe('denied');
    });

    it('allows events, RPCs and presence to authenticated users only', () => {
      for (const [section, action] of [
        ['event', 'publish'],
        ['event', 'subscribe'],
        ['rpc', 'provide'],
        ['rpc', 'request'],
        ['presence', 'allow'],
      ] as const) {
        const request = { section, action, name: 'greetings', data: {} };
        expect(verdict(permissions, { ...request, user: alice }), action).toBe('allowed');
        expect(verdict(permissions, { ...request, user: anonymous }), action).toBe('denied');
      }
      expect(
        verdict(permissions, { section: 'event', action: 'listen', name: 'x', user: alice }),
      ).toBe('denied');
    });

    it('denies open logins even on a record named after their own id', () => {
      // Open auth users are not authenticated, whatever username they chose.
      for (const action of ['create', 'read', 'write', 'delete'])
        expect(
          verdict(permissions, {
            section: 'record',
            action,
            name: `users/${anonymous.id}/notes`,
            user: anonymous,
            data: {},
            oldData: {},
          }),
          action,
        ).toBe('denied');
    });
  });
});
