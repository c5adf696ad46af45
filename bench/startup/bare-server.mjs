// The baseline of bench:startup: the least a Fastify server can be, on the
// very fastify the realtime node runs (resolved from apps/realtime), with a
// /ready route and nothing else, on the port given as its argument. Plain
// JavaScript so that it starts as the built nodes do, without a TypeScript
// loader.
import { createRequire } from 'node:module';

const fromRealtime = createRequire(new URL('../../apps/realtime/package.json', import.meta.url));
const { fastify } = fromRealtime('fastify');

const app = fastify();
app.get('/ready', async () => ({ ready: true }));
await app.listen({ host: '127.0.0.1', port: Number(process.argv[2]) });
process.on('SIGTERM', () => {
  app.close().then(() => process.exit(0));
});
