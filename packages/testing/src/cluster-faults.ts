import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import type { DeepstreamClient } from '@deepstream/client';
import { Redis } from 'ioredis';
import { freePort } from './free-port.ts';
import { guardProcess } from './process-guard.ts';
import { type RunningRole, startRole } from './roles-process.ts';
import { until } from './until.ts';

// What the fault tests start beside the harness's stack: realtime nodes as
// real processes (`pnpm start:realtime`'s entry), a Redis server of their
// own that they may kill, and client traffic that counts acknowledged writes.

export type NodeProcess = { role: RunningRole; port: number; nodeId: string; url: string };

/** A realtime node as its own process; resolves once it listens. */
export async function startNodeProcess(env: Record<string, string>): Promise<NodeProcess> {
  const role = startRole('realtime', { LOG_LEVEL: 'info', ...env });
  const url = await role.listening;
  const up = await role.waitForLog((entry) => typeof entry.nodeId === 'string');
  return { role, url, port: Number(new URL(url).port), nodeId: up.nodeId as string };
}

export type RedisServer = {
  url: string;
  /** SIGKILL: gone at once, with everything it held (no persistence). */
  kill(): Promise<void>;
  /** Starts it again, empty, on the same port; resolves once it answers. */
  start(): Promise<void>;
};

/** A Redis of the test's own (never the shared one), without persistence. */
export async function startRedisServer(): Promise<RedisServer> {
  const port = await freePort();
  let child: ChildProcess | undefined;
  const start = async () => {
    child = spawn('redis-server', ['--port', String(port), '--save', '', '--appendonly', 'no'], {
      stdio: 'ignore',
    });
    guardProcess(child, { group: false });
    const probe = new Redis({
      port,
      host: '127.0.0.1',
      lazyConnect: true,
      retryStrategy: () => 50,
    });
    probe.on('error', () => {});
    try {
      await until(async () => (await probe.ping().catch(() => '')) === 'PONG', 'redis to start');
    } finally {
      probe.disconnect();
    }
  };
  const kill = async () => {
    const running = child;
    if (!running || running.exitCode !== null || running.signalCode !== null) return;
    const exited = once(running, 'exit');
    running.kill('SIGKILL');
    await exited;
  };

  await start();
  return { url: `redis://127.0.0.1:${port}`, kill, start };
}

export type Traffic = {
  /** Record name → data of every write the server acknowledged. */
  readonly acked: Map<string, { n: number }>;
  /** Stops writing and emitting; waits (a while) for writes in flight. */
  stop(): Promise<void>;
};

/**
 * Every `intervalMs`, the client emits `tick` (with its name and the phase)
 * and writes a new record `w/{name}/{n}` with an acknowledgement. Writes
 * that fail (the node died under them) are simply not counted.
 */
export function startTraffic(
  client: DeepstreamClient,
  name: string,
  phase: () => number,
  intervalMs = 100,
): Traffic {
  const acked = new Map<string, { n: number }>();
  const inFlight = new Set<Promise<void>>();
  let n = 0;
  const timer = setInterval(() => {
    n++;
    client.event.emit('tick', { from: name, phase: phase() });
    const record = `w/${name}/${n}`;
    const data = { n };
    const sent = client.record.setDataWithAck(record, data) as Promise<unknown>;
    const write = sent
      .then(
        () => {
          acked.set(record, data);
        },
        () => {},
      )
      .finally(() => inFlight.delete(write));
    inFlight.add(write);
  }, intervalMs);
  return {
    acked,
    async stop() {
      clearInterval(timer);
      // A write sent to a node that died may never be answered: not acked.
      await Promise.race([
        Promise.allSettled([...inFlight]),
        new Promise((r) => setTimeout(r, 3000)),
      ]);
    },
  };
}
