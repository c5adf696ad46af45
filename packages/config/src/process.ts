import { ConfigError, loadConfig } from './load.ts';
import type { Config } from './schema.ts';

// What every process's main does first: read the configuration, or say what
// is wrong with it and exit.

function fail(message: string): never {
  process.stderr.write(`${message}\nSee ENVS.md for every variable.\n`);
  process.exit(1);
}

/** The validated configuration; on any problem, all of them on stderr and exit 1. */
export function loadConfigOrExit(): Config {
  try {
    return loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) fail(error.message);
    throw error;
  }
}

export type RoleConfig = Config & { DATABASE_URL: string; REDIS_URL: string };

/**
 * The configuration of a production role (control plane, realtime node,
 * worker): the roles share one Postgres and one Redis, so both URLs are
 * required; without them the process explains and exits.
 */
export function loadRoleConfigOrExit(role: string): RoleConfig {
  const config = loadConfigOrExit();
  const missing = [
    config.DATABASE_URL ? null : 'DATABASE_URL',
    config.REDIS_URL ? null : 'REDIS_URL',
  ].filter((name): name is string => name !== null);
  if (missing.length > 0) {
    fail(
      `The ${role} role needs ${missing.join(' and ')}: the separate roles share Postgres and Redis. ` +
        'Run `pnpm start` for everything in one process on embedded defaults.',
    );
  }
  return config as RoleConfig;
}
