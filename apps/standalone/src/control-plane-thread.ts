// The control plane's thread of `pnpm start` (a worker thread, started by
// standalone.ts): the control plane's HTTP server and the database (PGlite,
// or a pool of its own on Postgres) run here, beside the realtime node's
// event loop instead of on it. A control-plane request (routing, checks,
// its statements in PGlite's WebAssembly) took ~0.25 ms of the one event
// loop every app's clients wait on: bench:attacks' malformed control-plane
// input doubled another app's p99. The main thread drives this one through
// calls (ThreadCalls): open, listen, close, shutdown; it uses the database
// served from here (remote.ts in @hubstream/db), and this thread uses its
// bus, job queue and realtime node (thread-bridges.ts).

import { parentPort, workerData } from 'node:worker_threads';
import type { Config } from '@hubstream/config';
import { buildApp } from '@hubstream/control-plane';
import { type Database, databaseOptionsFor, openDatabase, serveDatabase } from '@hubstream/db';
import {
  createLogger,
  type LogLevel,
  openServerTransport,
  type ServerTransport,
  ThreadCalls,
} from '@hubstream/service';
import type { FastifyInstance } from 'fastify';
import { ThreadBus, ThreadJobQueue, threadRealtimeData } from './thread-bridges.ts';

/** What standalone.ts hands this thread when it starts it. */
export type ControlPlaneThreadData = {
  config: Config;
  log: { level: LogLevel; pretty: boolean };
};

/** What `listen` is told of the main thread. */
export type ListenRequest = {
  /** Where the realtime node really listens (REALTIME_PORT=0), for the app URLs. */
  realtimePort: number;
  bus: { nodeId: string; isClustered: boolean };
  /** Whether the main thread's job queue reports its depths (BullMQ's). */
  jobCounts: boolean;
};

/** What `open` answers. */
export type OpenedDatabase = {
  kind: Database['kind'];
  applied: string[];
  alreadyApplied: number;
};

if (!parentPort)
  throw new Error('control-plane-thread.ts runs as a worker thread of standalone.ts');
const data = workerData as ControlPlaneThreadData;
const { config } = data;
const calls = new ThreadCalls(parentPort);
const logger = createLogger({ level: data.log.level, name: 'hubstream', pretty: data.log.pretty });

let transport: ServerTransport | undefined;
let db: Database | undefined;
let served: { abandon(): Promise<void> } | undefined;
let server: FastifyInstance | undefined;

// TLS first (a server that may not listen in plaintext says why before the
// database opens), then the database and its migrations.
calls.handle('open', async (): Promise<OpenedDatabase> => {
  transport = await openServerTransport(
    config,
    { server: 'control plane', host: config.HTTP_HOST, hostVariable: 'HTTP_HOST' },
    logger,
  );
  db = await openDatabase(databaseOptionsFor(config));
  if (db.driverAdapter) served = serveDatabase(db, db.driverAdapter, calls);
  const report = await db.migrate();
  return {
    kind: db.kind,
    applied: report.applied,
    alreadyApplied: report.alreadyApplied.length,
  };
});

calls.handle('listen', async (main: ListenRequest): Promise<string> => {
  if (!db || !transport) throw new Error('listen before open');
  const { realtimePort } = main;
  const withPort =
    config.REALTIME_PORT === 0
      ? (Object.freeze({ ...config, REALTIME_PORT: realtimePort }) as Config)
      : config;
  server = await buildApp({
    config: withPort,
    db,
    bus: new ThreadBus(calls, main.bus),
    jobs: new ThreadJobQueue(calls),
    logger,
    serverFactory: transport.serverFactory,
    realtimeData: threadRealtimeData(calls),
    ...(main.jobCounts
      ? { queueDepth: () => calls.call<Record<string, number>>('jobs.counts') }
      : {}),
  });
  await server.listen({
    host: config.HTTP_HOST,
    port: config.HTTP_PORT,
    // Fastify's own line says "http://" whatever the transport (standalone.ts' banner names URLs).
    listenTextResolver: (address) =>
      `control plane listening on ${address.replace(/^[a-z]+:\/\//, '')}`,
  });
  const address = server.server.address();
  if (address === null || typeof address === 'string') throw new Error('not listening');
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return `${transport.secure ? 'https' : 'http'}://${host}:${address.port}`;
});

/** Stops taking requests and finishes those in flight (the database stays open). */
calls.handle('close', async () => {
  await server?.close();
});

/** Last: the database, once the main thread is done with it. */
calls.handle('shutdown', async () => {
  await served?.abandon();
  await db?.close();
  db = undefined;
});
