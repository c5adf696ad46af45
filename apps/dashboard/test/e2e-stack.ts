import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, chromium, type Page } from 'playwright-core';
import { build } from 'vite';

// What the dashboard's end-to-end tests run against: the dashboard built by
// Vite exactly as `pnpm build:dashboard` builds it, a real control plane
// (which serves it) and a real realtime node, on a fresh database on the real
// Postgres, with the worker's jobs run inline (startE2EStack, in
// @hubstream/testing/apps: no app imports another); and Debian's Chromium
// driven by playwright-core.

export { type E2EStack, type Mail, startE2EStack } from '@hubstream/testing/apps';

export const DASHBOARD_DIR = fileURLToPath(new URL('..', import.meta.url));
export const ARTIFACTS_DIR = path.join(DASHBOARD_DIR, 'test-artifacts');
export const CHROMIUM = '/usr/bin/chromium';

const DIST_DIR = path.join(DASHBOARD_DIR, 'dist');
const LOCK_DIR = path.join(DASHBOARD_DIR, '.build-lock');
const STAMP = path.join(DIST_DIR, '.sources-hash');
const LOCK_STALE_MS = 120_000;

/** A hash of everything the bundle is made of, so an up-to-date build is reused. */
async function sourcesHash(): Promise<string> {
  const hash = createHash('sha256');
  const roots = [
    path.join(DASHBOARD_DIR, 'src'),
    path.join(DASHBOARD_DIR, 'index.html'),
    path.join(DASHBOARD_DIR, 'vite.config.ts'),
    path.join(DASHBOARD_DIR, 'package.json'),
    path.join(DASHBOARD_DIR, '../../packages/valve/src'),
    path.join(DASHBOARD_DIR, '../../docs'),
  ];
  for (const root of roots) {
    const files = (await stat(root)).isDirectory()
      ? (await readdir(root, { recursive: true, withFileTypes: true }))
          .filter((e) => e.isFile())
          .map((e) => path.join(e.parentPath, e.name))
          .sort()
      : [root];
    for (const file of files) hash.update(file).update(await readFile(file));
  }
  return hash.digest('hex');
}

/**
 * Builds the dashboard into dist/ as `pnpm build:dashboard` does, unless the
 * build there is of the same sources. Test files run in parallel workers and
 * servers of other files may be serving dist/, so one build at a time (a
 * directory lock) and none at all when nothing changed.
 */
export async function buildDashboard() {
  const want = await sourcesHash();
  const current = () => readFile(STAMP, 'utf8').catch(() => '');
  if ((await current()) === want) return;
  for (;;) {
    try {
      await mkdir(LOCK_DIR);
      break;
    } catch {
      const since = await stat(LOCK_DIR).then(
        (s) => Date.now() - s.mtimeMs,
        () => 0,
      );
      if (since > LOCK_STALE_MS) await rm(LOCK_DIR, { recursive: true, force: true });
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  try {
    if ((await current()) === want) return;
    await build({
      root: DASHBOARD_DIR,
      configFile: path.join(DASHBOARD_DIR, 'vite.config.ts'),
      logLevel: 'warn',
    });
    await writeFile(STAMP, want);
  } finally {
    await rm(LOCK_DIR, { recursive: true, force: true });
  }
}

export async function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    // Containers run tests as root, where Chromium's sandbox cannot start.
    args: ['--no-sandbox', '--disable-dev-shm-usage'],
  });
}

/** Saves a full-page screenshot as a test artifact (test-artifacts/NN-name.png). */
export function screenshots(prefix: string) {
  let n = 0;
  return async (page: Page, name: string) => {
    await mkdir(ARTIFACTS_DIR, { recursive: true });
    if (n === 0) {
      // This run's screenshots replace the last run's.
      for (const old of await readdir(ARTIFACTS_DIR)) {
        if (old.startsWith(`${prefix}-`)) await rm(path.join(ARTIFACTS_DIR, old), { force: true });
      }
    }
    n += 1;
    const file = path.join(ARTIFACTS_DIR, `${prefix}-${String(n).padStart(2, '0')}-${name}.png`);
    await page.screenshot({ path: file, fullPage: true });
    return file;
  };
}
