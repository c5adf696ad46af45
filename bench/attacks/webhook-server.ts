import { once } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';

// A tenant's auth webhook as an attacker would write it, on a raw TCP server
// so that it can misbehave below HTTP:
//   /slow?ms=N  holds the request N ms, then turns the login away (401)
//   /drip       answers 200 {"id":"drip-user"}, one byte per second
// Every request's body is read for the upgrade headers the node forwarded
// (connectionData.headers), to count the secrets that reached the tenant.

export type WebhookStats = {
  requests: number;
  /** Requests whose forwarded upgrade headers held a Cookie or Authorization header. */
  leakedSecrets: number;
  /** Requests the node gave up on (closed the socket) before the answer was complete. */
  abandoned: number;
};

const DRIP_REPLY =
  'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 16\r\nConnection: close\r\n\r\n{"id":"drip-up"}';

export class WebhookServer {
  readonly stats: WebhookStats = { requests: 0, leakedSecrets: 0, abandoned: 0 };
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  readonly #timers = new Set<NodeJS.Timeout>();
  port = 0;

  private constructor(dripMs: number) {
    this.#server = createServer((socket) => {
      this.#sockets.add(socket);
      socket.on('error', () => {});
      let buffered = Buffer.alloc(0);
      let handled = false;
      let finished = false;
      socket.on('close', () => {
        this.#sockets.delete(socket);
        if (handled && !finished) this.stats.abandoned++;
      });
      socket.on('data', (chunk: Buffer) => {
        if (handled) return;
        buffered = Buffer.concat([buffered, chunk]);
        const headEnd = buffered.indexOf('\r\n\r\n');
        if (headEnd < 0) return;
        const head = buffered.subarray(0, headEnd).toString('latin1');
        const length = Number(/\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1] ?? 0);
        if (buffered.length < headEnd + 4 + length) return;
        handled = true;
        this.stats.requests++;
        this.#inspect(head, buffered.subarray(headEnd + 4, headEnd + 4 + length).toString());
        const target = head.split(' ')[1] ?? '/';
        const url = new URL(target, 'http://webhook');
        const done = () => {
          finished = true;
          socket.end();
        };
        if (url.pathname === '/slow') {
          const timer = setTimeout(
            () => {
              this.#timers.delete(timer);
              socket.write(
                'HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\nConnection: close\r\n\r\n',
              );
              done();
            },
            Number(url.searchParams.get('ms') ?? 60_000),
          );
          this.#timers.add(timer);
        } else if (url.pathname === '/drip') {
          let at = 0;
          const timer = setInterval(() => {
            if (socket.destroyed) {
              clearInterval(timer);
              this.#timers.delete(timer);
              return;
            }
            socket.write(DRIP_REPLY[at++] ?? '');
            if (at >= DRIP_REPLY.length) {
              clearInterval(timer);
              this.#timers.delete(timer);
              done();
            }
          }, dripMs);
          this.#timers.add(timer);
        } else {
          socket.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
          finished = true;
        }
      });
    });
  }

  #inspect(head: string, body: string) {
    let forwarded: Record<string, unknown> = {};
    try {
      const parsed = JSON.parse(body) as { connectionData?: { headers?: Record<string, unknown> } };
      forwarded = parsed.connectionData?.headers ?? {};
    } catch {
      // not JSON: nothing forwarded
    }
    const names = Object.keys(forwarded).map((name) => name.toLowerCase());
    const inHead = /\r\n(cookie|authorization):/i.test(head);
    if (inHead || names.includes('cookie') || names.includes('authorization')) {
      this.stats.leakedSecrets++;
    }
  }

  static async start(dripMs = 1000): Promise<WebhookServer> {
    const server = new WebhookServer(dripMs);
    server.#server.listen(0, '127.0.0.1');
    await once(server.#server, 'listening');
    const address = server.#server.address();
    server.port = typeof address === 'object' && address ? address.port : 0;
    return server;
  }

  url(path: string): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  reset(): void {
    this.stats.requests = 0;
    this.stats.leakedSecrets = 0;
    this.stats.abandoned = 0;
  }

  async close(): Promise<void> {
    for (const timer of this.#timers) clearTimeout(timer);
    for (const socket of this.#sockets) socket.destroy();
    await new Promise((resolve) => this.#server.close(resolve));
  }
}
