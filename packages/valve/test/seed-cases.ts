import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import type { ValveRequest, Verdict } from '../src/index.js';

// Allowed and denied requests for every rule of the seed file, shared by the
// API tests and the CLI tests. A rule that is the constant `true` can only
// allow and `false` can only deny; those list the one outcome they have.

export const SEED_PATH = fileURLToPath(
  new URL('../../../../shared/fixtures/seed-permissions.yml', import.meta.url),
);
export const SEED_TEXT = readFileSync(SEED_PATH, 'utf8');

export interface SeedCase {
  /** Section, pattern and rule type the case exercises, as `section pattern type`. */
  readonly rule: string;
  readonly title: string;
  readonly request: ValveRequest;
  /** Records for `_()`. */
  readonly records?: Record<string, unknown>;
  readonly verdict: Verdict;
}

export const user = (id: string, data: unknown = null, isAuthenticated = true) => ({
  id,
  isAuthenticated,
  data,
});

const alice = user('alice');

const c = (
  rule: string,
  title: string,
  verdict: Verdict,
  request: Partial<ValveRequest> & Pick<ValveRequest, 'section' | 'action'>,
  records?: Record<string, unknown>,
): SeedCase => ({
  rule,
  title,
  verdict,
  request: { user: alice, name: 'anything', ...request },
  ...(records === undefined ? {} : { records }),
});

export const SEED_CASES: readonly SeedCase[] = [
  // record "*"
  c('record * create', 'anyone creates an unlisted record', 'allowed', {
    section: 'record',
    action: 'create',
    name: 'misc/1',
  }),
  c('record * delete', 'anyone deletes an unlisted record', 'allowed', {
    section: 'record',
    action: 'delete',
    name: 'misc/1',
  }),
  c('record * write', 'anyone writes an unlisted record', 'allowed', {
    section: 'record',
    action: 'write',
    name: 'misc/1',
    data: { a: 1 },
  }),
  c('record * read', 'anyone reads an unlisted record', 'allowed', {
    section: 'record',
    action: 'read',
    name: 'misc/1',
  }),
  c('record * listen', 'anyone listens on a pattern', 'allowed', {
    section: 'record',
    action: 'listen',
    name: 'misc/.*',
  }),
  // public-read-private-write/$userid
  c('record public-read-private-write/$userid read', 'a stranger reads', 'allowed', {
    section: 'record',
    action: 'read',
    name: 'public-read-private-write/bob',
  }),
  c('record public-read-private-write/$userid create', 'the named user creates', 'allowed', {
    section: 'record',
    action: 'create',
    name: 'public-read-private-write/alice',
  }),
  c('record public-read-private-write/$userid create', 'another user creates', 'denied', {
    section: 'record',
    action: 'create',
    name: 'public-read-private-write/bob',
  }),
  c('record public-read-private-write/$userid write', 'the named user writes', 'allowed', {
    section: 'record',
    action: 'write',
    name: 'public-read-private-write/alice',
    data: { bio: 'hi' },
  }),
  c('record public-read-private-write/$userid write', 'another user writes', 'denied', {
    section: 'record',
    action: 'write',
    name: 'public-read-private-write/bob',
    data: { bio: 'hi' },
  }),
  // only-increment
  c('record only-increment write', 'a higher value', 'allowed', {
    section: 'record',
    action: 'write',
    name: 'only-increment',
    data: { value: 3 },
    oldData: { value: 2 },
  }),
  c('record only-increment write', 'the first value of an empty record', 'allowed', {
    section: 'record',
    action: 'write',
    name: 'only-increment',
    data: { value: 1 },
    oldData: {},
  }),
  c('record only-increment write', 'a lower value', 'denied', {
    section: 'record',
    action: 'write',
    name: 'only-increment',
    data: { value: 1 },
    oldData: { value: 2 },
  }),
  c('record only-increment write', 'the same value', 'denied', {
    section: 'record',
    action: 'write',
    name: 'only-increment',
    data: { value: 2 },
    oldData: { value: 2 },
  }),
  c('record only-increment create', 'anyone creates', 'allowed', {
    section: 'record',
    action: 'create',
    name: 'only-increment',
  }),
  c('record only-increment read', 'anyone reads', 'allowed', {
    section: 'record',
    action: 'read',
    name: 'only-increment',
  }),
  // only-delete-egon-miller/$firstname/$lastname
  c(
    'record only-delete-egon-miller/$firstname/$lastname delete',
    'egon miller in any case',
    'allowed',
    { section: 'record', action: 'delete', name: 'only-delete-egon-miller/EGON/Miller' },
  ),
  c('record only-delete-egon-miller/$firstname/$lastname delete', 'egon müller', 'denied', {
    section: 'record',
    action: 'delete',
    name: 'only-delete-egon-miller/egon/mueller',
  }),
  c('record only-delete-egon-miller/$firstname/$lastname delete', 'someone else', 'denied', {
    section: 'record',
    action: 'delete',
    name: 'only-delete-egon-miller/jane/miller',
  }),
  // only-allows-purchase-of-products-in-stock/$purchaseId
  c(
    'record only-allows-purchase-of-products-in-stock/$purchaseId create',
    'anyone creates a purchase',
    'allowed',
    { section: 'record', action: 'create', name: 'only-allows-purchase-of-products-in-stock/p1' },
  ),
  c(
    'record only-allows-purchase-of-products-in-stock/$purchaseId write',
    'an item in stock',
    'allowed',
    {
      section: 'record',
      action: 'write',
      name: 'only-allows-purchase-of-products-in-stock/p1',
      data: { itemId: 'teapot' },
    },
    { 'item/teapot': { stock: 3 } },
  ),
  c(
    'record only-allows-purchase-of-products-in-stock/$purchaseId write',
    'an item out of stock',
    'denied',
    {
      section: 'record',
      action: 'write',
      name: 'only-allows-purchase-of-products-in-stock/p1',
      data: { itemId: 'teapot' },
    },
    { 'item/teapot': { stock: 0 } },
  ),
  c(
    'record only-allows-purchase-of-products-in-stock/$purchaseId write',
    'an item that does not exist',
    'error',
    {
      section: 'record',
      action: 'write',
      name: 'only-allows-purchase-of-products-in-stock/p1',
      data: { itemId: 'unicorn' },
    },
    { 'item/teapot': { stock: 3 } },
  ),
  // system-settings
  c('record system-settings read', 'anyone reads', 'allowed', {
    section: 'record',
    action: 'read',
    name: 'system-settings',
    user: user('bob', { role: 'user' }),
  }),
  c('record system-settings write', 'an admin writes', 'allowed', {
    section: 'record',
    action: 'write',
    name: 'system-settings',
    user: user('root', { role: 'admin' }),
    data: { theme: 'dark' },
  }),
  c('record system-settings write', 'a plain user writes', 'denied', {
    section: 'record',
    action: 'write',
    name: 'system-settings',
    user: user('bob', { role: 'user' }),
    data: { theme: 'dark' },
  }),
  // event "*" and open/*
  c('event * listen', 'anyone listens', 'allowed', {
    section: 'event',
    action: 'listen',
    name: 'chat/.*',
  }),
  c('event * publish', 'anyone publishes', 'allowed', {
    section: 'event',
    action: 'publish',
    name: 'chat',
    data: 'hi',
  }),
  c('event * subscribe', 'anyone subscribes', 'allowed', {
    section: 'event',
    action: 'subscribe',
    name: 'chat',
  }),
  c('event open/* listen', 'anyone listens', 'allowed', {
    section: 'event',
    action: 'listen',
    name: 'open/.*',
  }),
  c('event open/* publish', 'anyone publishes', 'allowed', {
    section: 'event',
    action: 'publish',
    name: 'open/x',
    data: 1,
  }),
  c('event open/* subscribe', 'anyone subscribes', 'allowed', {
    section: 'event',
    action: 'subscribe',
    name: 'open/x',
  }),
  // forbidden/*
  c('event forbidden/* publish', 'nobody publishes', 'denied', {
    section: 'event',
    action: 'publish',
    name: 'forbidden/x',
    data: 1,
  }),
  c('event forbidden/* subscribe', 'nobody subscribes', 'denied', {
    section: 'event',
    action: 'subscribe',
    name: 'forbidden/x',
  }),
  // a-to-b/*
  c('event a-to-b/* publish', 'client-a publishes', 'allowed', {
    section: 'event',
    action: 'publish',
    name: 'a-to-b/ping',
    user: user('client-a'),
  }),
  c('event a-to-b/* publish', 'client-b publishes', 'denied', {
    section: 'event',
    action: 'publish',
    name: 'a-to-b/ping',
    user: user('client-b'),
  }),
  c('event a-to-b/* subscribe', 'client-b subscribes', 'allowed', {
    section: 'event',
    action: 'subscribe',
    name: 'a-to-b/ping',
    user: user('client-b'),
  }),
  c('event a-to-b/* subscribe', 'client-a subscribes', 'denied', {
    section: 'event',
    action: 'subscribe',
    name: 'a-to-b/ping',
    user: user('client-a'),
  }),
  // news/$topic
  c('event news/$topic publish', 'news about tea-cup-pigs', 'allowed', {
    section: 'event',
    action: 'publish',
    name: 'news/tea-cup-pigs',
  }),
  c('event news/$topic publish', 'news about anything else', 'denied', {
    section: 'event',
    action: 'publish',
    name: 'news/politics',
  }),
  // number
  c('event number publish', 'a number above 10', 'allowed', {
    section: 'event',
    action: 'publish',
    name: 'number',
    data: 11,
  }),
  c('event number publish', 'exactly 10', 'denied', {
    section: 'event',
    action: 'publish',
    name: 'number',
    data: 10,
  }),
  c('event number publish', 'a numeric string', 'denied', {
    section: 'event',
    action: 'publish',
    name: 'number',
    data: '11',
  }),
  // place/$city
  c('event place/$city publish', 'the same city in another case', 'allowed', {
    section: 'event',
    action: 'publish',
    name: 'place/Berlin',
    data: { address: { city: 'BERLIN' } },
  }),
  c('event place/$city publish', 'another city', 'denied', {
    section: 'event',
    action: 'publish',
    name: 'place/Berlin',
    data: { address: { city: 'Paris' } },
  }),
  // rpc
  c('rpc * provide', 'anyone provides', 'allowed', {
    section: 'rpc',
    action: 'provide',
    name: 'add',
  }),
  c('rpc * request', 'anyone requests', 'allowed', {
    section: 'rpc',
    action: 'request',
    name: 'add',
    data: [1, 2],
  }),
  c('rpc a-provide-b-request provide', 'client-a provides', 'allowed', {
    section: 'rpc',
    action: 'provide',
    name: 'a-provide-b-request',
    user: user('client-a'),
  }),
  c('rpc a-provide-b-request provide', 'client-b provides', 'denied', {
    section: 'rpc',
    action: 'provide',
    name: 'a-provide-b-request',
    user: user('client-b'),
  }),
  c('rpc a-provide-b-request request', 'client-b requests', 'allowed', {
    section: 'rpc',
    action: 'request',
    name: 'a-provide-b-request',
    user: user('client-b'),
  }),
  c('rpc a-provide-b-request request', 'client-a requests', 'denied', {
    section: 'rpc',
    action: 'request',
    name: 'a-provide-b-request',
    user: user('client-a'),
  }),
  c('rpc only-full-user-data request', 'first and last name given', 'allowed', {
    section: 'rpc',
    action: 'request',
    name: 'only-full-user-data',
    data: { firstname: 'Egon', lastname: 'Miller' },
  }),
  c('rpc only-full-user-data request', 'the last name missing', 'denied', {
    section: 'rpc',
    action: 'request',
    name: 'only-full-user-data',
    data: { firstname: 'Egon' },
  }),
  c('rpc only-full-user-data request', 'a number for a name', 'denied', {
    section: 'rpc',
    action: 'request',
    name: 'only-full-user-data',
    data: { firstname: 'Egon', lastname: 7 },
  }),
  // presence
  c('presence * allow', 'anyone queries a user', 'allowed', {
    section: 'presence',
    action: 'QUERY',
    name: 'bob',
  }),
];

/** Every `section pattern type` of the seed file, to prove each has cases. */
export const SEED_RULES: readonly string[] = [
  ...['create', 'delete', 'write', 'read', 'listen'].map((t) => `record * ${t}`),
  ...['read', 'create', 'write'].map((t) => `record public-read-private-write/$userid ${t}`),
  ...['write', 'create', 'read'].map((t) => `record only-increment ${t}`),
  'record only-delete-egon-miller/$firstname/$lastname delete',
  ...['create', 'write'].map(
    (t) => `record only-allows-purchase-of-products-in-stock/$purchaseId ${t}`,
  ),
  ...['read', 'write'].map((t) => `record system-settings ${t}`),
  ...['listen', 'publish', 'subscribe'].map((t) => `event * ${t}`),
  ...['listen', 'publish', 'subscribe'].map((t) => `event open/* ${t}`),
  ...['publish', 'subscribe'].map((t) => `event forbidden/* ${t}`),
  ...['publish', 'subscribe'].map((t) => `event a-to-b/* ${t}`),
  'event news/$topic publish',
  'event number publish',
  'event place/$city publish',
  ...['provide', 'request'].map((t) => `rpc * ${t}`),
  ...['provide', 'request'].map((t) => `rpc a-provide-b-request ${t}`),
  'rpc only-full-user-data request',
  'presence * allow',
];

/** Rules that are the constant true or false, read from the file itself. */
export const CONSTANT_RULES: ReadonlySet<string> = (() => {
  const file = parse(SEED_TEXT) as Record<string, Record<string, Record<string, unknown>>>;
  const constants = new Set<string>();
  for (const [section, patterns] of Object.entries(file)) {
    for (const [pattern, rules] of Object.entries(patterns)) {
      for (const [type, rule] of Object.entries(rules)) {
        if (typeof rule === 'boolean') constants.add(`${section} ${pattern} ${type}`);
      }
    }
  }
  return constants;
})();
