import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

// Vitest global setup of the integration tests: the processes they start
// (`pnpm start`, the roles, the image's commands) run the built output, as
// production does, so it is brought up to date first: `pnpm build` once
// (CI runs it before the tests), then only what changed (about a second).

export default function buildBeforeTests() {
  const root = fileURLToPath(new URL('../', import.meta.url));
  const build = spawnSync(process.execPath, ['scripts/build.mjs', '--if-changed'], {
    cwd: root,
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  if (build.status !== 0) throw new Error(`node scripts/build.mjs failed (${build.status})`);
}
