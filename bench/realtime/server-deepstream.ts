import { createRequire } from 'node:module';
import { freePort } from '../../packages/testing/src/free-port.ts';
import { runServer } from './server-control.ts';

// deepstream 7 (the npm package @deepstream/server) under test, in a process
// of its own: the second baseline of bench:realtime (run.ts) and the record
// round-trip comparison (record-rtt.ts). Its default in-memory cache and
// storage, open auth, and the Valve permissions of the Hubstream bench app
// (setup.ts): everything allowed but the emit, which runs one rule every
// time. Its open auth names a user by the username alone (Hubstream's by
// `open:<username>`), so the same rule reads 'blocked' here. Only its binary
// WebSocket endpoint, the one the current clients use; the uWebSockets.js
// endpoint is not installed (.pnpmfile.cjs). It resolves from apps/realtime,
// where it is a devDependency (the bench is no workspace package). Prints its
// ws URL on stdout.
//
//   tsx bench/realtime/server-deepstream.ts     (run.ts and record-rtt.ts start it for you)

type DeepstreamServer = {
  on(event: 'started' | 'stopped', listener: () => void): void;
  start(): void;
  stop(): void;
};
type DeepstreamModule = { Deepstream: new (config: object) => DeepstreamServer };

const fromRealtime = createRequire(new URL('../../apps/realtime/package.json', import.meta.url));
const { Deepstream } = fromRealtime('@deepstream/server') as DeepstreamModule;

const BENCH_PERMISSIONS = {
  record: {
    '*': {
      create: true,
      write: true,
      read: true,
      delete: true,
      listen: true,
      notify: true,
    },
  },
  event: { '*': { publish: "user.id !== 'blocked'", subscribe: true, listen: true } },
  rpc: { '*': { provide: true, request: true } },
  presence: { '*': { allow: true } },
};

await runServer('deepstream', async (defer) => {
  const port = await freePort();
  const server = new Deepstream({
    showLogo: false,
    logLevel: 3, // ERROR: its logger writes to stdout, where the bench reads the URL
    serverName: 'bench',
    httpServer: { type: 'default', options: { host: '127.0.0.1', port } },
    connectionEndpoints: [{ type: 'ws-binary', options: { urlPath: '/deepstream' } }],
    permission: { type: 'config', options: { permissions: BENCH_PERMISSIONS } },
    telemetry: { type: 'deepstreamIO', options: { enabled: false } },
  });
  await new Promise<void>((resolve) => {
    server.on('started', resolve);
    server.start();
  });
  defer(
    () =>
      new Promise<void>((resolve) => {
        server.on('stopped', resolve);
        server.stop();
      }),
  );
  return `ws://127.0.0.1:${port}/deepstream`;
});
