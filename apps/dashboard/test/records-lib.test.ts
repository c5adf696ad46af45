import { describe, expect, it } from 'vitest';
import { parseRecordJson, recordPath, recordsQuery } from '../src/lib/records.ts';

// The data browser's pure parts: URLs and the editor's JSON check.

describe('the data browser helpers', () => {
  it('puts a record name in one path segment, slashes and all', () => {
    expect(recordPath('abc123', 'users/ada')).toBe('/apps/abc123/records/users%2Fada');
    expect(recordPath('abc123', 'a b%?#')).toBe('/apps/abc123/records/a%20b%25%3F%23');
  });

  it('leaves empty filters out of the list query', () => {
    expect(recordsQuery({ prefix: '', after: null, limit: 25 })).toBe('limit=25');
    expect(recordsQuery({ prefix: 'a%_', after: 'a%_b', limit: 5 })).toBe(
      'prefix=a%25_&after=a%25_b&limit=5',
    );
  });

  it('takes a JSON object or array, and says what is wrong with anything else', () => {
    expect(parseRecordJson('{"a": 1}')).toEqual({ ok: true, data: { a: 1 } });
    expect(parseRecordJson('["x", "y"]')).toEqual({ ok: true, data: ['x', 'y'] });
    const broken = parseRecordJson('{"a": ');
    expect(broken.ok).toBe(false);
    expect(!broken.ok && broken.message).toMatch(/^This is not valid JSON: /);
    for (const [text, kind] of [
      ['42', 'number'],
      ['"text"', 'string'],
      ['null', 'null'],
      ['true', 'boolean'],
    ]) {
      expect(parseRecordJson(text!)).toEqual({
        ok: false,
        message: `A record holds a JSON object (or an array, for a list), not ${kind}.`,
      });
    }
  });
});
