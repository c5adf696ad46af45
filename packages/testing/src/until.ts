// The one polling wait of the tests and benches (issue 16 item 7): for
// state that changes elsewhere (another process, a node's in-memory
// registry, a database) and announces nothing a test could await.

/** A value the condition returns that means "not yet". */
type NotYet = false | undefined | null;

export type UntilOptions = {
  /** Fails after this long (default 15 s: a loaded machine, other processes, a cluster). */
  timeoutMs?: number;
  /** Pause between two checks (default 20 ms). */
  everyMs?: number;
  /** Appended to the failure message: the state the test saw last. */
  explain?: () => string;
};

/** What `until` throws when the condition did not hold in time. */
export class UntilTimeout extends Error {
  override name = 'UntilTimeout';
}

/**
 * Checks `condition` until it returns something other than false, undefined
 * or null, and resolves with that (so a probe can hand back what it found).
 * Fails with "timed out after N ms waiting for <what>" (and `explain()`), or
 * with the condition's own error, which is not retried.
 */
export async function until<T>(
  condition: () => T | NotYet | Promise<T | NotYet>,
  what: string,
  options: UntilOptions | number = {},
): Promise<T> {
  const {
    timeoutMs = 15_000,
    everyMs = 20,
    explain,
  } = typeof options === 'number' ? { timeoutMs: options } : options;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await condition();
    if (value !== false && value !== undefined && value !== null) return value;
    if (Date.now() > deadline) {
      const seen = explain ? `: ${explain()}` : '';
      throw new UntilTimeout(`timed out after ${timeoutMs} ms waiting for ${what}${seen}`);
    }
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

/**
 * Whether `condition` becomes true within `ms` (checked every `everyMs`):
 * for a bench, where "it did not happen in time" is a finding to report,
 * not a failure. The condition's own error is not caught.
 */
export async function holdsWithin(
  condition: () => boolean | Promise<boolean>,
  ms: number,
  everyMs = 20,
): Promise<boolean> {
  try {
    await until(async () => (await condition()) || undefined, 'a condition', {
      timeoutMs: ms,
      everyMs,
    });
    return true;
  } catch (error) {
    if (error instanceof UntilTimeout) return false;
    throw error;
  }
}
