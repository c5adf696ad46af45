import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { closeSilentConnections } from '../src/silent-connections.ts';

// A socket that never sends a byte is not idle to Node, so without the hook
// close() waits for the headers timeout (60 s here, longer than the test).

async function serverWith(hook: boolean) {
  const app = Fastify({ http: { headersTimeout: 60_000, requestTimeout: 120_000 } });
  if (hook) closeSilentConnections(app);
  let entered: () => void = () => {};
  const inHandler = new Promise<void>((resolve) => {
    entered = resolve;
  });
  app.get('/slow', async () => {
    entered();
    await new Promise((r) => setTimeout(r, 300));
    return { ok: true };
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as { port: number };
  return { app, port, inHandler };
}

async function openSocket(port: number): Promise<Socket> {
  const socket = connect(port, '127.0.0.1');
  await once(socket, 'connect');
  return socket;
}

describe('closeSilentConnections', { timeout: 20_000 }, () => {
  it('ends a connection that sent nothing when the server closes, so close() returns', async () => {
    const { app, port } = await serverWith(true);
    const silent = await openSocket(port);
    const closed = once(silent, 'close');
    await app.close();
    await closed;
    expect(silent.destroyed).toBe(true);
  });

  it('lets a request in flight finish', async () => {
    const { app, port, inHandler } = await serverWith(true);
    // (Connection: close: a kept-alive socket, idle after the reply, is
    // Fastify's keep-alive timeout's to end, not this hook's.)
    const reply = fetch(`http://127.0.0.1:${port}/slow`, { headers: { connection: 'close' } });
    await inHandler;
    const closing = app.close();
    const response = await reply;
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ ok: true });
    await closing;
  });

  it('without it, the silent connection keeps the server open', async () => {
    const { app, port } = await serverWith(false);
    const silent = await openSocket(port);
    let done = false;
    const closing = app.close().then(() => {
      done = true;
    });
    await new Promise((r) => setTimeout(r, 1000));
    expect(done).toBe(false);
    silent.destroy();
    await closing;
  });
});
