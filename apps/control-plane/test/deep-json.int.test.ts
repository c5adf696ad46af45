import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_JSON_DEPTH, nestedDeeperThan } from '../src/plugins/input-guard.ts';
import { type Harness, startWithApp } from './harness.ts';

// A JSON body nested too deep is refused on its text, before it is parsed:
// parsing 100,000 nested arrays stopped the event loop of a standalone
// process (every app's realtime clients) for ~8 ms a request.

const arrays = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;

describe('nestedDeeperThan', () => {
  it('counts brackets and braces outside strings', () => {
    expect(nestedDeeperThan(arrays(MAX_JSON_DEPTH))).toBe(false);
    expect(nestedDeeperThan(arrays(MAX_JSON_DEPTH + 1))).toBe(true);
    expect(nestedDeeperThan(`{"a":${arrays(MAX_JSON_DEPTH - 1)}}`)).toBe(false);
    expect(nestedDeeperThan(`{"a":${arrays(MAX_JSON_DEPTH)}}`)).toBe(true);
    // Brackets in strings, escaped quotes included, are text.
    expect(nestedDeeperThan(JSON.stringify({ a: '['.repeat(100) }))).toBe(false);
    expect(nestedDeeperThan(JSON.stringify({ a: `"\\${'{'.repeat(100)}` }))).toBe(false);
    // Siblings do not add up.
    expect(nestedDeeperThan(`[${Array(100).fill(arrays(10)).join(',')}]`)).toBe(false);
  });
});

describe('a JSON body nested too deep', () => {
  let h: Harness;
  let token: string;
  let appId: string;
  beforeAll(async () => {
    ({ h, token, appId } = await startWithApp());
  });
  afterAll(async () => {
    await h?.close();
  });

  it('is refused with 400 without being parsed', async () => {
    const parse = JSON.parse;
    let parsedDeep = 0;
    JSON.parse = ((text: string, reviver?: Parameters<typeof parse>[1]) => {
      if (typeof text === 'string' && text.startsWith('[[[[')) parsedDeep++;
      return parse(text, reviver);
    }) as typeof JSON.parse;
    try {
      const deep = await h.call('PUT', `/v1/apps/${appId}/limits`, {
        token,
        headers: { 'content-type': 'application/json' },
        body: arrays(100_000),
      });
      expect(deep.status).toBe(400);
      expect(deep.body.error.code).toBe('VALIDATION_FAILED');
      expect(deep.body.error.message).toContain('nested deeper');
      expect(parsedDeep).toBe(0);
    } finally {
      JSON.parse = parse;
    }
    // A body within the bound is parsed and checked as before.
    const fine = await h.call('PUT', `/v1/apps/${appId}/limits`, {
      token,
      body: { maxConnections: 5 },
    });
    expect(fine.status).toBe(200);
    const proto = await h.call('PUT', `/v1/apps/${appId}/limits`, {
      token,
      headers: { 'content-type': 'application/json' },
      body: '{"__proto__":{"maxConnections":1}}',
    });
    expect(proto.status).toBe(400);
  });
});
