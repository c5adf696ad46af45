import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';

// A tiny TCP load balancer for fault tests: each new connection goes to the
// next of a list of node ports, round robin, skipping nodes that refuse (a
// node that died or stopped listening), as a real load balancer's health
// checks would. Clients connect through it and so reconnect to whichever
// node is still there.

export type Balancer = {
  /** `ws://127.0.0.1:PORT`: the balancer's address. */
  url: string;
  /** The node port each accepted connection went to, in order. */
  readonly history: number[];
  /** Replaces the list of node ports. */
  setUpstreams(ports: readonly number[]): void;
  close(): Promise<void>;
};

export async function startBalancer(initial: readonly number[]): Promise<Balancer> {
  let upstreams = [...initial];
  let next = 0;
  const history: number[] = [];
  const open = new Set<Socket>();
  const track = (socket: Socket) => {
    open.add(socket);
    socket.on('close', () => open.delete(socket));
  };

  const forward = (client: Socket, tried: number) => {
    if (tried >= upstreams.length || client.destroyed) {
      client.destroy();
      return;
    }
    const port = upstreams[next % upstreams.length]!;
    next++;
    const upstream = tcpConnect({ port, host: '127.0.0.1' });
    track(upstream);
    const refused = () => forward(client, tried + 1);
    upstream.once('error', refused);
    upstream.once('connect', () => {
      upstream.off('error', refused);
      history.push(port);
      // Either side going away takes the other with it (no half-open pairs).
      upstream.on('error', () => client.destroy());
      client.on('error', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
      client.on('close', () => upstream.destroy());
      client.pipe(upstream);
      upstream.pipe(client);
      client.resume();
    });
  };

  const server: Server = createServer({ pauseOnConnect: true }, (client) => {
    track(client);
    client.on('error', () => {});
    forward(client, 0);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('balancer not listening');
  return {
    url: `ws://127.0.0.1:${address.port}`,
    history,
    setUpstreams(ports) {
      upstreams = [...ports];
    },
    async close() {
      for (const socket of open) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
