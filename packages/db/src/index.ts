export { DataDirLockedError } from './data-dir-lock.ts';
export {
  type Database,
  type DatabaseOptions,
  databaseOptionsFor,
  type OpenOptions,
  openDatabase,
} from './database.ts';
// Types only: the client's module is loaded when a client is made (lazy-prisma.ts).
export type {
  Account,
  AccountToken,
  ApiKey,
  App,
  AppAuthSettings,
  AppChange,
  AppLimits,
  AppUser,
  AuditEvent,
  Invitation,
  Membership,
  Organisation,
  PermissionVersion,
  Prisma,
  PrismaClient,
  Record,
  Session,
  UsageSample,
} from './generated/prisma/client.ts';
export {
  applyMigrations,
  checksumOf,
  MIGRATION_LOCK_ID,
  MIGRATIONS_DIR,
  type Migration,
  MigrationError,
  type MigrationReport,
  readMigrations,
} from './migrations.ts';
export { type DatabaseCalls, remoteDatabase, serveDatabase } from './remote.ts';
export {
  type ApiKeyGrant,
  findApiKeyByHash,
  touchApiKey,
} from './repositories/api-keys.ts';
export {
  type AppChangeKind,
  type PendingAppChange,
  publishAppChanges,
  recordAppChange,
} from './repositories/app-changes.ts';
export {
  type AppConfig,
  appConfigVersions,
  ensureAuthSettings,
  readAppConfig,
} from './repositories/app-config.ts';
export { appExists, deleteAppRows } from './repositories/app-purge.ts';
export { type UsageTotals, writeUsageSample } from './repositories/usage-samples.ts';
export { pgliteSession, pgSession, type SqlSession } from './sql.ts';
export { waitForSchema } from './wait-for-schema.ts';
