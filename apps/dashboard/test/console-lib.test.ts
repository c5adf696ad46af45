import { describe, expect, it } from 'vitest';
import { describeRule, parseData, prepend, streamUrl } from '../src/lib/console.ts';

describe('console lib', () => {
  it('takes empty data as no data and names what is wrong with bad JSON', () => {
    expect(parseData('  ')).toEqual({ ok: true, data: undefined });
    expect(parseData('{"a": [1, 2]}')).toEqual({ ok: true, data: { a: [1, 2] } });
    expect(parseData('42')).toEqual({ ok: true, data: 42 });
    const bad = parseData('{oops');
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.message).toMatch(/^The data is not valid JSON: /);
  });

  it('puts every subscription in the stream URL, encoded', () => {
    expect(streamUrl('app1', [])).toBe('/v1/apps/app1/console/stream');
    expect(
      streamUrl('app1', [
        { kind: 'name', value: 'chat/a b' },
        { kind: 'pattern', value: '^chat/.*&x' },
      ]),
    ).toBe('/v1/apps/app1/console/stream?name=chat%2Fa+b&pattern=%5Echat%2F.*%26x');
  });

  it('keeps lists newest first and bounded', () => {
    expect(prepend([3, 2, 1], [4, 5], 4)).toEqual([5, 4, 3, 2]);
    expect(prepend([], [1, 2, 3], 2)).toEqual([3, 2]);
  });

  it('describes the denying rule', () => {
    expect(describeRule({ section: 'event', pattern: '*', type: 'publish', line: 3 })).toBe(
      'event "*" publish (line 3)',
    );
    expect(describeRule({ section: 'rpc', pattern: null, type: 'request', line: null })).toMatch(
      /denied by default/,
    );
    expect(describeRule(null)).toMatch(/no rule/);
  });
});
