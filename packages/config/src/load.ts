import { isIP } from 'node:net';
import type { Static, TObject, TSchema } from 'typebox';
import Value from 'typebox/value';
import { type Config, configSchema, type TestConfig, testConfigSchema } from './schema.ts';

export type ConfigProblem = { variable: string; message: string };

/** Thrown at start-up with every invalid variable at once. */
export class ConfigError extends Error {
  readonly problems: readonly ConfigProblem[];
  constructor(problems: ConfigProblem[]) {
    super(
      `Invalid configuration (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n${problems
        .map((p) => `  - ${p.variable}: ${p.message}`)
        .join('\n')}`,
    );
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

type Env = Record<string, string | undefined>;

function parse<S extends TObject>(schema: S, env: Env): Readonly<Static<S>> {
  const input: Record<string, unknown> = {};
  for (const key of Object.keys(schema.properties)) {
    const raw = env[key];
    // An empty variable means "not set", as in most shells' `FOO= cmd`.
    if (raw !== undefined && raw.trim() !== '') input[key] = raw.trim();
  }
  const value = Value.Convert(schema, Value.Default(schema, input)) as Record<string, unknown>;
  const failed = new Set<string>();
  for (const error of Value.Errors(schema, value)) {
    const key = error.instancePath.split('/')[1];
    if (key) failed.add(key);
  }
  if (failed.size > 0) {
    const problems = [...failed].map((variable) => {
      const prop = schema.properties[variable] as TSchema & { expected?: string };
      return {
        variable,
        message: `must be ${prop.expected ?? 'valid'}, got ${JSON.stringify(input[variable])}`,
      };
    });
    throw new ConfigError(problems);
  }
  const result: Record<string, unknown> = {};
  for (const key of Object.keys(schema.properties)) {
    if (value[key] !== undefined) result[key] = value[key];
  }
  return Object.freeze(result) as Readonly<Static<S>>;
}

/** Problems with the TLS and proxy settings that their patterns cannot see. */
function tlsProblems(config: Config): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const cert = config.TLS_CERT_FILE !== undefined;
  const key = config.TLS_KEY_FILE !== undefined;
  if (cert !== key) {
    const [set, unset] = cert
      ? ['TLS_CERT_FILE', 'TLS_KEY_FILE']
      : ['TLS_KEY_FILE', 'TLS_CERT_FILE'];
    problems.push({
      variable: unset,
      message: `must be set when ${set} is (a certificate and its key go together), or unset ${set}`,
    });
  }
  for (const entry of (config.TRUSTED_PROXIES ?? '').split(',').map((e) => e.trim())) {
    if (entry === '' || ['loopback', 'linklocal', 'uniquelocal'].includes(entry)) continue;
    const [address = '', bits] = entry.split('/');
    const family = isIP(address);
    const maxBits = family === 6 ? 128 : 32;
    if (family === 0 || (bits !== undefined && Number(bits) > maxBits)) {
      problems.push({
        variable: 'TRUSTED_PROXIES',
        message: `must list IP addresses or CIDR ranges, got ${JSON.stringify(entry)}`,
      });
    }
  }
  return problems;
}

/** Validates the environment against the schema; the result is frozen. */
export function loadConfig(env: Env = process.env): Config {
  const config = parse(configSchema, env);
  const tls = tlsProblems(config);
  if (tls.length > 0) throw new ConfigError(tls);
  // A node must renew its registry entry before the others may call it dead.
  if (config.NODE_DEAD_AFTER_MS <= config.NODE_HEARTBEAT_INTERVAL_MS) {
    throw new ConfigError([
      {
        variable: 'NODE_DEAD_AFTER_MS',
        message: `must be more than NODE_HEARTBEAT_INTERVAL_MS (${config.NODE_HEARTBEAT_INTERVAL_MS}), got ${config.NODE_DEAD_AFTER_MS}`,
      },
    ]);
  }
  return config;
}

export function loadTestConfig(env: Env = process.env): TestConfig {
  return parse(testConfigSchema, env);
}
