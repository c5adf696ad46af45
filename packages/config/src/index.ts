export {
  appRealtimeUrl,
  publicHttpUrl,
  publicRealtimeUrl,
  tlsEnabled,
  trustedProxies,
} from './derived.ts';
export { ConfigError, type ConfigProblem, loadConfig, loadTestConfig } from './load.ts';
export { packageRoot } from './package-root.ts';
export { loadConfigOrExit, loadRoleConfigOrExit, type RoleConfig } from './process.ts';
export {
  type Config,
  configSchema,
  LOG_LEVELS,
  type TestConfig,
  testConfigSchema,
} from './schema.ts';
