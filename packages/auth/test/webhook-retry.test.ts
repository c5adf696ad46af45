import { describe, expect, it } from 'vitest';
import { retryPauseMs } from '../src/webhook.ts';

// Retries of logins that failed together must not all go out at once.

describe('retryPauseMs', () => {
  it("is the app's interval and up to a quarter more", () => {
    expect(retryPauseMs(1000, () => 0)).toBe(1000);
    expect(retryPauseMs(1000, () => 0.5)).toBe(1125);
    expect(retryPauseMs(1000, () => 0.999_999)).toBe(1250);
    expect(retryPauseMs(0, () => 0.7)).toBe(0);
  });

  it('spreads the retries of logins that failed at the same moment', () => {
    const pauses = Array.from({ length: 20 }, () => retryPauseMs(500));
    for (const pause of pauses) {
      expect(pause).toBeGreaterThanOrEqual(500);
      expect(pause).toBeLessThanOrEqual(625);
    }
    // Twenty draws over 125 ms: far from all in the same few milliseconds.
    expect(Math.max(...pauses) - Math.min(...pauses)).toBeGreaterThan(20);
  });
});
