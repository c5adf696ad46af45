import { describe, expect, it } from 'vitest';
import type { RuleTable } from '../src/rule-table.js';
import { compileOk, fileText } from './helpers.js';

// The per-name cache of rule choices (rule-table.ts): what it keeps per name.

/** The table inside compiled permissions (private: this tests the cache itself). */
function tableOf(text: string): RuleTable {
  return (compileOk(text) as unknown as { setup: { table: RuleTable } }).setup.table;
}

describe('rule choices', () => {
  it('shares one frozen choice per rule for names it matches without captures', () => {
    const table = tableOf(
      fileText({
        event: { '*': { publish: true, subscribe: true }, 'user/$id': { subscribe: true } },
      }),
    );
    const a = table.choose('event', 'subscribe', 'many/1');
    const b = table.choose('event', 'subscribe', 'many/2');
    expect(a?.rule.pattern.source).toBe('*');
    expect(a).toBe(b);
    expect(a?.captures).toEqual([]);
    expect(Object.isFrozen(a)).toBe(true);
    expect(Object.isFrozen(a?.captures)).toBe(true);
    // A capturing rule: a choice of the name's own, with its values.
    const bob = table.choose('event', 'subscribe', 'user/bob');
    const ann = table.choose('event', 'subscribe', 'user/ann');
    expect(bob?.rule.pattern.source).toBe('user/$id');
    expect(bob?.captures).toEqual(['bob']);
    expect(ann?.captures).toEqual(['ann']);
    expect(bob).not.toBe(ann);
    // Cached: asked again, the same object.
    expect(table.choose('event', 'subscribe', 'user/bob')).toBe(bob);
  });
});
