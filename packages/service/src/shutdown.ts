import type { Logger } from './logger.ts';

const SAME_SIGNAL_MS = 1_000;

/**
 * Runs `stop` once on the first SIGINT or SIGTERM, then exits 0 (or 1 when
 * stopping failed or took longer than `timeoutMs`). A second signal (a second
 * or more after the first) exits at once, for the impatient Ctrl-C.
 */
export function stopOnSignals(options: {
  logger: Logger;
  timeoutMs: number;
  stop: () => Promise<void>;
}): void {
  const { logger, timeoutMs, stop } = options;
  let stoppingSince: number | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stoppingSince !== undefined) {
      // One Ctrl-C often arrives twice: from the terminal to the whole
      // process group, and again from a parent that forwards signals (pnpm
      // does): within a second it is the same request.
      if (Date.now() - stoppingSince < SAME_SIGNAL_MS) return;
      logger.warn({ signal }, 'second signal: exiting without waiting');
      process.exit(1);
    }
    stoppingSince = Date.now();
    logger.info({ signal }, 'shutting down');
    const timer = setTimeout(() => {
      logger.error({ timeoutMs }, 'shutdown took too long: exiting anyway');
      process.exit(1);
    }, timeoutMs);
    timer.unref();
    stop().then(
      () => {
        logger.info('stopped cleanly');
        logger.flush();
        process.exit(0);
      },
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        logger.flush();
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}
