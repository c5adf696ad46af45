import type { Logger } from './logger.ts';

/**
 * Runs `stop` once on the first SIGINT or SIGTERM, then exits 0 (or 1 when
 * stopping failed or took longer than `timeoutMs`). A second signal exits
 * at once, for the impatient Ctrl-C.
 */
export function stopOnSignals(options: {
  logger: Logger;
  timeoutMs: number;
  stop: () => Promise<void>;
}): void {
  const { logger, timeoutMs, stop } = options;
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: exiting without waiting');
      process.exit(1);
    }
    stopping = true;
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
