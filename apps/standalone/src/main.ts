import { ConfigError, loadConfig } from '@hubstream/config';
import { createLogger, stopOnSignals } from '@hubstream/service';
import { startStandalone } from './standalone.ts';

// `pnpm start`: the whole of Hubstream in one process.

let config: ReturnType<typeof loadConfig>;
try {
  config = loadConfig();
} catch (error) {
  if (error instanceof ConfigError) {
    process.stderr.write(`${error.message}\nSee ENVS.md for every variable.\n`);
    process.exit(1);
  }
  throw error;
}

const logger = createLogger({ level: config.LOG_LEVEL, name: 'hubstream' });

try {
  const standalone = await startStandalone(config, logger);
  stopOnSignals({ logger, timeoutMs: config.SHUTDOWN_TIMEOUT_MS, stop: standalone.stop });
} catch (error) {
  logger.fatal({ err: error }, `could not start: ${(error as Error).message}`);
  logger.flush();
  process.exitCode = 1;
}
