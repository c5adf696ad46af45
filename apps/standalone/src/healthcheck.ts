import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';

// The image's HEALTHCHECK (`node dist/healthcheck.js`), one for every role:
// asks GET /ready on 127.0.0.1 at each port a Hubstream server may listen on
// (HTTP_PORT, REALTIME_PORT, WORKER_PORT, or their defaults). A port where
// nothing listens is another role's; every server that answers must be
// ready, and at least one must answer. Exit 0 when healthy, 1 when not.

const PORTS = [
  Number(process.env.HTTP_PORT ?? 3000),
  Number(process.env.REALTIME_PORT ?? 6020),
  Number(process.env.WORKER_PORT ?? 3001),
];
// A server with its own certificate answers TLS only; the check trusts it
// without verifying (it is this container's own server on loopback).
const tls = process.env.TLS_CERT_FILE !== undefined && process.env.TLS_CERT_FILE !== '';

type Answer = 'ready' | 'not ready' | 'not listening';

function ready(port: number, secure: boolean): Promise<Answer> {
  const request = secure ? httpsRequest : httpRequest;
  return new Promise((resolve) => {
    const req = request(
      { host: '127.0.0.1', port, path: '/ready', timeout: 4_000, rejectUnauthorized: false },
      (res) => {
        res.resume();
        resolve(res.statusCode === 200 ? 'ready' : 'not ready');
      },
    );
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', (error: NodeJS.ErrnoException) =>
      resolve(error.code === 'ECONNREFUSED' ? 'not listening' : 'not ready'),
    );
    req.end();
  });
}

const answers = await Promise.all(
  PORTS.map(async (port) => {
    // The worker's health server is plain HTTP whatever the TLS settings.
    const first = await ready(port, tls && port !== PORTS[2]);
    return first === 'not ready' && tls ? ready(port, false) : first;
  }),
);
const healthy = answers.includes('ready') && !answers.includes('not ready');
process.stdout.write(`${PORTS.map((port, i) => `${port}: ${answers[i]}`).join(', ')}\n`);
process.exit(healthy ? 0 : 1);
