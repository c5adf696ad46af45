import { randomBytes } from 'node:crypto';
import { connectRedis } from '../../packages/cluster/src/index.ts';
import { loadTestConfig } from '../../packages/config/src/index.ts';
import { createTestDatabase } from '../../packages/db/src/testing.ts';
import { createLogger } from '../../packages/service/src/index.ts';
import { loopback, ServerProcess, tempDir } from './processes.ts';

// The two deployments every attack runs against: `pnpm start` (one process,
// PGlite in a fresh DATA_DIR, TLS sniffing on both ports as on a developer's
// machine) and the separate roles (a control plane and two realtime nodes on
// a Postgres database and a Redis key prefix of their own).

export type Deployment = {
  name: 'standalone' | 'cluster';
  /** The control plane's HTTP base URL. */
  api: string;
  /** The attacked node (A) and another node (B; the same one for the standalone). */
  nodeA: string;
  nodeB: string;
  /** The process whose memory counts for attacks on node A. */
  node: ServerProcess;
  /** The process whose memory counts for attacks on the control plane. */
  controlPlane: ServerProcess;
  /** Other processes of the deployment (node B), for their logs. */
  others: ServerProcess[];
  /** Every listening port, for attacks on the HTTP servers themselves. */
  ports: { label: string; port: number }[];
  stop(): Promise<void>;
};

/**
 * Settings the bench gives every server: attacks reach the private loopback
 * webhook, and the bench's many set-up calls stay under the account limit.
 */
const COMMON_ENV = {
  LOG_LEVEL: 'info',
  WEBHOOK_ALLOW_PRIVATE_ADDRESSES: 'true',
  ACCOUNT_RATE_LIMIT_MAX: '100000',
};

const portOf = (url: string) => Number(new URL(url).port);

export async function startStandalone(extraEnv: Record<string, string>): Promise<Deployment> {
  const dataDir = await tempDir('hubstream-attacks-');
  let server: ServerProcess;
  try {
    server = await ServerProcess.start(
      'standalone',
      'standalone',
      { ...COMMON_ENV, DATA_DIR: dataDir.path, ...extraEnv },
      { measured: true },
    );
  } catch (error) {
    await dataDir.cleanup();
    throw error;
  }
  const { controlPlaneUrl = '', realtimeUrl = '' } = server.listening;
  const ws = loopback(realtimeUrl, 'ws');
  return {
    name: 'standalone',
    api: loopback(controlPlaneUrl, 'http'),
    nodeA: ws,
    nodeB: ws,
    node: server,
    controlPlane: server,
    others: [],
    ports: [
      { label: 'control plane', port: portOf(controlPlaneUrl) },
      { label: 'realtime', port: portOf(realtimeUrl) },
    ],
    async stop() {
      await server.stop();
      await dataDir.cleanup();
    },
  };
}

export async function startCluster(extraEnv: Record<string, string>): Promise<Deployment> {
  const { TEST_REDIS_URL: redisUrl } = loadTestConfig();
  const keyPrefix = `attacks:${process.pid}:${randomBytes(3).toString('hex')}:`;
  const db = await createTestDatabase('attacks');
  const env = {
    ...COMMON_ENV,
    DATABASE_URL: db.url,
    REDIS_URL: redisUrl,
    REDIS_KEY_PREFIX: keyPrefix,
    ...extraEnv,
  };
  const started: ServerProcess[] = [];
  const stop = async () => {
    await Promise.all(started.map((s) => s.stop()));
    await db.drop().catch(() => {});
    const redis = connectRedis(redisUrl, createLogger({ level: 'silent', name: 'attacks' }));
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${keyPrefix}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await redis.unlink(...keys);
    } while (cursor !== '0');
    await redis.quit();
  };
  try {
    // The control plane migrates; the nodes wait for it.
    const starting = [
      ServerProcess.start('control-plane', 'control plane', env),
      ServerProcess.start('realtime', 'node A', env, { measured: true }),
      ServerProcess.start('realtime', 'node B', env),
    ];
    const settled = await Promise.allSettled(starting);
    for (const s of settled) if (s.status === 'fulfilled') started.push(s.value);
    const failed = settled.find((s) => s.status === 'rejected');
    if (failed) throw failed.reason;
  } catch (error) {
    await stop();
    throw error;
  }
  const [controlPlane, a, b] = started as [ServerProcess, ServerProcess, ServerProcess];
  const urlOf = (s: ServerProcess) => Object.values(s.listening)[0] ?? '';
  return {
    name: 'cluster',
    api: loopback(urlOf(controlPlane), 'http'),
    nodeA: loopback(urlOf(a), 'ws'),
    nodeB: loopback(urlOf(b), 'ws'),
    node: a,
    controlPlane,
    others: [b],
    ports: [
      { label: 'control plane', port: portOf(urlOf(controlPlane)) },
      { label: 'node A', port: portOf(urlOf(a)) },
    ],
    stop,
  };
}
