import { compileRegex } from '@hubstream/valve';
import { describe, expect, it } from 'vitest';
import {
  compileListenPattern,
  patternMatches,
  warmListenPatterns,
} from '../src/listen/listen-pattern.ts';

describe('listen patterns', () => {
  it('match anywhere in the name, as deepstream does', () => {
    const compiled = compileListenPattern('weather/');
    expect(compiled.ok && patternMatches(compiled.regex, 'weather/london')).toBe(true);
  });

  it('match literal patterns (no RE2 compile) exactly as RE2 does', () => {
    const patterns = [
      '^weather/',
      'london$',
      '^weather$',
      'chat/room',
      '^a-b:c@d',
      '',
      '^',
      '$',
      '^$',
    ];
    const names = [
      'weather/london',
      'weather',
      'x/weather/london',
      'chat/room/1',
      'a-b:c@d',
      '',
      'london',
    ];
    let literal = 0;
    for (const pattern of patterns) {
      const re2 = compileRegex(pattern, '');
      if (!re2.ok) throw new Error(re2.message);
      const compiled = compileListenPattern(pattern);
      if (pattern === '') {
        expect(compiled.ok).toBe(false);
        continue;
      }
      if (!compiled.ok) throw new Error(compiled.message);
      if (compiled.regex.re.constructor !== re2.regex.re.constructor) literal++;
      for (const name of names) {
        expect([pattern, name, patternMatches(compiled.regex, name)]).toEqual([
          pattern,
          name,
          re2.regex.re.test(name),
        ]);
      }
    }
    expect(literal).toBe(patterns.length - 1);
    // Anything with regex syntax still goes through RE2.
    for (const pattern of ['^weather/.*', 'a|b', '^x\\.y', '(?i)A']) {
      const compiled = compileListenPattern(pattern);
      expect(compiled.ok && compiled.regex.re.constructor).toBe(
        (compileRegex(pattern, '') as { regex: { re: object } }).regex.re.constructor,
      );
    }
  });

  it('are warmed up at start by compiling and running patterns that all match', () => {
    // A warm-up whose patterns failed to compile would leave the first LISTEN's stall in place.
    expect(warmListenPatterns()).toBe(3);
  });
});
