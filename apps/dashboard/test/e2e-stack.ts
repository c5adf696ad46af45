import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BusEnvelope, InlineJobQueue, type JobDefinition, LocalBus } from '@hubstream/cluster';
import { loadConfig } from '@hubstream/config';
import { buildApp as buildControlPlane } from '@hubstream/control-plane';
import { openDatabase } from '@hubstream/db';
import { createTestDatabase } from '@hubstream/db/testing';
import { buildApp as buildRealtime, UsageReporter } from '@hubstream/realtime';
import { createLogger } from '@hubstream/service';
import { createJobDefinitions } from '@hubstream/worker';
import { type Browser, chromium, type Page } from 'playwright-core';
import { build } from 'vite';

// What the dashboard's end-to-end tests run against: the dashboard built by
// Vite exactly as `pnpm build:dashboard` builds it, a real control plane
// (which serves it) and a real realtime node, on a fresh database on the real
// Postgres, with the worker's jobs run inline; and Debian's Chromium driven by
// playwright-core.

export const DASHBOARD_DIR = fileURLToPath(new URL('..', import.meta.url));
export const ARTIFACTS_DIR = path.join(DASHBOARD_DIR, 'test-artifacts');
export const CHROMIUM = '/usr/bin/chromium';

export type Mail = { to: string; subject: string; text: string; html: string };

export type E2EStack = {
  controlPlaneUrl: string;
  realtimeUrl: string;
  /** Every mail the control plane sent (the send-email job records instead of sending). */
  mails: Mail[];
  announced: BusEnvelope<'app.changed'>[];
  close(): Promise<void>;
};

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

const portOf = (server: { server: { address(): unknown } }) => {
  const address = server.server.address() as { port: number } | null;
  return address?.port ?? 0;
};

export async function startE2EStack(): Promise<E2EStack> {
  const testDb = await createTestDatabase('dash');
  const db = await openDatabase({ kind: 'postgres', url: testDb.url, poolSize: 10 });
  await db.migrate();
  const env = {
    ACCOUNT_RATE_LIMIT_MAX: '1000',
    WEBHOOK_ALLOW_PRIVATE_ADDRESSES: 'true',
    USAGE_REPORT_INTERVAL_MS: '1000',
  };
  const logger = createLogger({ level: 'silent', name: 'e2e' });
  const bus = new LocalBus({ nodeId: 'e2e' });
  const announced: BusEnvelope<'app.changed'>[] = [];
  bus.subscribe('app.changed', (m) => announced.push(m));
  const mails: Mail[] = [];
  const baseConfig = loadConfig(env);
  const definitions = createJobDefinitions({
    config: baseConfig,
    logger,
    prisma: db.prisma,
  }).map(
    (definition): JobDefinition =>
      definition.name === 'send-email'
        ? {
            ...definition,
            async handle(payload) {
              mails.push(payload as Mail);
            },
          }
        : definition,
  );
  const jobs = new InlineJobQueue(definitions, logger);

  // The realtime node first, so the control plane can name its real URL in
  // every app's `url`, which the test then connects to.
  const realtime = await buildRealtime({ config: baseConfig, db, bus, jobs, logger });
  await realtime.listen({ host: '127.0.0.1', port: 0 });
  // As apps/realtime's main does: the node's usage goes to the usage samples.
  const usage = new UsageReporter({
    nodeId: 'e2e',
    runtimes: () => realtime.hubstream.registry.loaded(),
    jobs,
    intervalMs: baseConfig.USAGE_REPORT_INTERVAL_MS,
    sampleIntervalMs: 200,
    logger,
  });
  usage.start();
  const realtimeUrl = `ws://127.0.0.1:${portOf(realtime)}`;
  const controlPlane = await buildControlPlane({
    config: loadConfig({ ...env, PUBLIC_REALTIME_URL: realtimeUrl }),
    db,
    bus,
    jobs,
    logger,
  });
  await controlPlane.listen({ host: '127.0.0.1', port: 0 });

  return {
    controlPlaneUrl: `http://127.0.0.1:${portOf(controlPlane)}`,
    realtimeUrl,
    mails,
    announced,
    async close() {
      await usage.stop();
      await realtime.close();
      await controlPlane.close();
      await jobs.close();
      await bus.close();
      await db.close();
      await testDb.drop();
    },
  };
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
