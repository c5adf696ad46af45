// Runs `prisma generate`. The Prisma CLI insists on a schema-engine binary
// before it starts, and downloads one from Prisma's host when none is named;
// generate never runs it. Where that host is unreachable, naming any
// executable file (here: this Node binary) lets generate run.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const cli = require.resolve('prisma/build/index.js');
const env = { ...process.env };
env.PRISMA_SCHEMA_ENGINE_BINARY ??= process.execPath;
env.PRISMA_HIDE_UPDATE_MESSAGE = '1';
// Run from this package, where prisma.config.ts is, whoever calls us.
const cwd = fileURLToPath(new URL('..', import.meta.url));
const result = spawnSync(process.execPath, [cli, 'generate', ...process.argv.slice(2)], {
  cwd,
  env,
  stdio: 'inherit',
});
process.exit(result.status ?? 1);
