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

  it('are warmed up at start by compiling and running patterns that all match', () => {
    // A warm-up whose patterns failed to compile would leave the first LISTEN's stall in place.
    expect(warmListenPatterns()).toBe(3);
  });
});
