import { loadConfigOrExit } from '@hubstream/config';
import { databaseOptionsFor, openDatabase } from '@hubstream/db';
import { createLogger } from '@hubstream/service';

// `pnpm migrate` (`node apps/control-plane/dist/migrate.js`; in the image
// `node node_modules/@hubstream/control-plane/dist/migrate.js`): applies the
// database migrations and exits, 0 when the schema is up to date. Deployments
// run it as a step before the control plane starts (the compose `migrate`
// service, the Kubernetes Job in infra/k8s/migrate.yaml); the control plane
// still migrates at start too, so running it alone is never required. With
// DATABASE_URL it migrates that Postgres, without it the PGlite database
// under DATA_DIR (`pnpm start`'s).

const config = loadConfigOrExit();
const logger = createLogger({ level: config.LOG_LEVEL, name: 'hubstream-migrate' });
const options = databaseOptionsFor(config);

try {
  const db = await openDatabase(options);
  try {
    const report = await db.migrate();
    logger.info(
      {
        database: options.kind,
        applied: report.applied,
        alreadyApplied: report.alreadyApplied.length,
      },
      report.applied.length > 0
        ? `applied ${report.applied.length} migration(s)`
        : 'database schema is up to date',
    );
  } finally {
    await db.close();
  }
  logger.flush();
} catch (error) {
  logger.fatal({ err: error }, `could not migrate: ${(error as Error).message}`);
  logger.flush();
  process.exitCode = 1;
}
