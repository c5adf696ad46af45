import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import path from 'node:path';
import tls from 'node:tls';
import { DeepstreamClient } from '@deepstream/client';
import {
  createCertificateAuthority,
  issueServerCertificate,
  type KeyPair,
} from '@hubstream/service/certificates';
import { ALLOW_ALL } from './rules.ts';

// Certificates, HTTPS calls and official clients that trust a test CA.

/** A test CA and a certificate for 127.0.0.1/localhost written into `dir`. */
export async function writeTestCertificates(dir: string, ca?: KeyPair) {
  const authority = ca ?? (await createCertificateAuthority({ commonName: 'Hubstream test CA' }));
  const leaf = await issueServerCertificate(authority, { hosts: ['localhost', '127.0.0.1'] });
  const certFile = path.join(dir, 'cert.pem');
  const keyFile = path.join(dir, 'key.pem');
  await writeFile(certFile, leaf.cert);
  await writeFile(keyFile, leaf.key, { mode: 0o600 });
  return { ca: authority, leaf, certFile, keyFile };
}

export type Reply = { status: number; body: unknown; encrypted: boolean };

/** One HTTPS (or HTTP) request trusting `ca`, JSON in and out. */
export function request(
  url: string,
  options: { ca?: string; method?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<Reply> {
  const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
  return new Promise((resolve, reject) => {
    const transport = url.startsWith('https:') ? https : http;
    const req = transport.request(
      url,
      {
        method: options.method ?? 'GET',
        ...(options.ca ? { ca: options.ca } : {}),
        headers: {
          ...(payload ? { 'content-type': 'application/json' } : {}),
          ...options.headers,
        },
        agent: false,
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          text += chunk;
        });
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            body: text ? JSON.parse(text) : null,
            encrypted: (res.socket as tls.TLSSocket).encrypted === true,
          }),
        );
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

/** The SHA-256 fingerprint of the certificate a new TLS connection to `url` gets. */
export function servedFingerprint(url: string, ca: string): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: hostname, port: Number(port), ca, servername: 'localhost' });
    socket.once('secureConnect', () => {
      resolve(socket.getPeerCertificate().fingerprint256);
      socket.end();
    });
    socket.once('error', reject);
  });
}

/** An official client on `url` that trusts `ca` (the client hands socketOptions to ws). */
export function trustingClient(url: string, ca: string): DeepstreamClient {
  const client = new DeepstreamClient(url, {
    maxReconnectAttempts: 0,
    socketOptions: { ca },
  } as ConstructorParameters<typeof DeepstreamClient>[1]);
  client.on('error', () => {});
  return client;
}

/** Signs a developer up on the control plane at `base` and makes an allow-all app. */
export async function allowAllApp(base: string, ca?: string): Promise<{ id: string; url: string }> {
  const signup = await request(`${base}/v1/signup`, {
    ...(ca ? { ca } : {}),
    method: 'POST',
    body: {
      email: `tls-${randomBytes(3).toString('hex')}@example.com`,
      password: 'correct horse battery',
    },
  });
  const token = (signup.body as { token: string }).token;
  const auth = { authorization: `Bearer ${token}` };
  const app = await request(`${base}/v1/apps`, {
    ...(ca ? { ca } : {}),
    method: 'POST',
    body: { name: 'tls' },
    headers: auth,
  });
  const { id, url } = app.body as { id: string; url: string };
  const rules = await request(`${base}/v1/apps/${id}/permissions`, {
    ...(ca ? { ca } : {}),
    method: 'PUT',
    body: { valve: ALLOW_ALL },
    headers: auth,
  });
  if (rules.status !== 200) throw new Error(`permissions: ${rules.status}`);
  return { id, url };
}
