import { once } from 'node:events';
import { createServer, type ServerResponse } from 'node:http';

// A login webhook a test holds: logins wait behind it (the connection is
// 'authenticating') while the test sends what it wants queued.

/** A webhook that holds every login until `release()`, then lets it in with the token as id. */
export async function slowWebhook() {
  const waiting: { res: ServerResponse; id: string }[] = [];
  let seen = 0;
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => {
      body += chunk;
    });
    req.on('end', () => {
      seen++;
      const { authData } = JSON.parse(body) as { authData: { token: string } };
      waiting.push({ res, id: authData.token });
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}/auth`,
    seen: () => seen,
    release() {
      for (const { res, id } of waiting.splice(0)) {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ id }));
      }
    },
    close() {
      server.closeAllConnections();
      server.close();
    },
  };
}
