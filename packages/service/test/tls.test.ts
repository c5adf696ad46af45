import { X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  createCertificateAuthority,
  ensureSelfSigned,
  issueServerCertificate,
} from '../src/certificates.ts';
import {
  assertSecureListen,
  InsecureListenError,
  isLoopbackHost,
  openServerTransport,
  plaintextAllowed,
  resolveSelfSigned,
  type TlsSettings,
} from '../src/index.ts';
import { createLogger } from '../src/logger.ts';

const logger = createLogger({ level: 'silent', name: 'tls-unit' });
const base: TlsSettings = {
  DATA_DIR: './unused',
  TLS_RELOAD_INTERVAL_MS: 5000,
  TLS_SELF_SIGNED: 'false',
  TLS_TERMINATED_BY_PROXY: false,
  ALLOW_PLAINTEXT: false,
};
const target = (host: string) => ({ server: 'realtime node', host, hostVariable: 'REALTIME_HOST' });

const dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});
async function tempDir() {
  const dir = await mkdtemp(path.join(tmpdir(), 'hs-tls-unit-'));
  dirs.push(dir);
  return dir;
}

describe('isLoopbackHost', () => {
  it('knows loopback names and addresses from the rest', () => {
    for (const host of ['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]', '::ffff:127.0.0.1'])
      expect(isLoopbackHost(host), host).toBe(true);
    for (const host of ['0.0.0.0', '::', '10.0.0.1', 'example.com', '::ffff:10.0.0.1', '128.0.0.1'])
      expect(isLoopbackHost(host), host).toBe(false);
  });
});

describe('secure by default', () => {
  it('lets plaintext through on loopback, behind a TLS proxy, or when allowed', () => {
    expect(plaintextAllowed(base, target('127.0.0.1'))).toBe(true);
    expect(plaintextAllowed(base, target('0.0.0.0'))).toBe(false);
    expect(plaintextAllowed({ ...base, TLS_TERMINATED_BY_PROXY: true }, target('0.0.0.0'))).toBe(
      true,
    );
    expect(plaintextAllowed({ ...base, ALLOW_PLAINTEXT: true }, target('0.0.0.0'))).toBe(true);
  });

  it('refuses plaintext-only on a non-loopback address, naming every way out', () => {
    expect(() => assertSecureListen(base, target('0.0.0.0'))).toThrow(InsecureListenError);
    expect(() => assertSecureListen(base, target('0.0.0.0'))).toThrow(
      /realtime node .* 0\.0\.0\.0 \(REALTIME_HOST\).*TLS_CERT_FILE and TLS_KEY_FILE.*TLS_SELF_SIGNED=true.*TLS_TERMINATED_BY_PROXY=true.*ALLOW_PLAINTEXT=true/,
    );
    expect(() =>
      assertSecureListen({ ...base, TLS_CERT_FILE: '/c', TLS_KEY_FILE: '/k' }, target('0.0.0.0')),
    ).not.toThrow();
  });

  it('warns behind a TLS proxy when the public URLs are not https:// and wss://', async () => {
    const lines: string[] = [];
    const capture = createLogger({
      level: 'info',
      name: 'capture',
      destination: { write: (line: string) => lines.push(line) },
    });
    const proxied = { ...base, TLS_TERMINATED_BY_PROXY: true };
    const transport = await openServerTransport(
      { ...proxied, PUBLIC_HTTP_URL: 'https://hub.example.com' },
      target('0.0.0.0'),
      capture,
    );
    expect(transport).toMatchObject({ secure: false, plaintext: true });
    expect(lines.map((line) => JSON.parse(line).unset)).toEqual([['PUBLIC_REALTIME_URL']]);
    await openServerTransport(
      {
        ...proxied,
        PUBLIC_HTTP_URL: 'https://hub.example.com',
        PUBLIC_REALTIME_URL: 'wss://rt.example.com',
      },
      target('0.0.0.0'),
      capture,
    );
    expect(lines).toHaveLength(1);
  });

  it('says which file it cannot read, and when the certificate and key do not match', async () => {
    const dir = await tempDir();
    await expect(
      openServerTransport(
        { ...base, TLS_CERT_FILE: path.join(dir, 'nope.pem'), TLS_KEY_FILE: path.join(dir, 'k') },
        target('0.0.0.0'),
        logger,
      ),
    ).rejects.toThrow(/Cannot read TLS_CERT_FILE .*nope\.pem/);
    const ca = await createCertificateAuthority();
    const one = await issueServerCertificate(ca, { hosts: ['localhost'] });
    const two = await issueServerCertificate(ca, { hosts: ['localhost'] });
    const { writeFile } = await import('node:fs/promises');
    await writeFile(path.join(dir, 'cert.pem'), one.cert);
    await writeFile(path.join(dir, 'key.pem'), two.key);
    await expect(
      openServerTransport(
        {
          ...base,
          TLS_CERT_FILE: path.join(dir, 'cert.pem'),
          TLS_KEY_FILE: path.join(dir, 'key.pem'),
        },
        target('0.0.0.0'),
        logger,
      ),
    ).rejects.toThrow(/TLS_CERT_FILE .* and TLS_KEY_FILE .* are not a usable certificate and key/);
  });
});

describe('certificates', () => {
  it('issues a server certificate for DNS names and IPs, signed by the CA', async () => {
    const ca = await createCertificateAuthority({ commonName: 'Unit CA' });
    const leaf = await issueServerCertificate(ca, { hosts: ['localhost', '127.0.0.1', '::1'] });
    const cert = new X509Certificate(leaf.cert);
    const authority = new X509Certificate(ca.cert);
    expect(authority.ca).toBe(true);
    expect(cert.ca).toBe(false);
    expect(cert.verify(authority.publicKey)).toBe(true);
    expect(cert.checkHost('localhost')).toBe('localhost');
    expect(cert.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(cert.checkIP('::1')).toBeDefined();
    expect(cert.checkHost('example.com')).toBeUndefined();
  });

  it('makes the self-signed pair once and keeps the CA when the certificate must be remade', async () => {
    const dir = await tempDir();
    const first = await ensureSelfSigned(dir, ['localhost', '127.0.0.1']);
    expect(first.created).toBe(true);
    expect((await stat(first.keyFile)).mode & 0o077).toBe(0);
    const again = await ensureSelfSigned(dir, ['localhost', '127.0.0.1']);
    expect(again).toEqual({ ...first, created: false });
    // A new host name needs a new certificate, from the same CA.
    const wider = await ensureSelfSigned(dir, ['localhost', '127.0.0.1', 'devbox.local']);
    expect(wider.created).toBe(true);
    expect(wider.caFingerprint).toBe(first.caFingerprint);
    expect(wider.fingerprint).not.toBe(first.fingerprint);
    const cert = new X509Certificate(await readFile(wider.certFile));
    expect(cert.checkHost('devbox.local')).toBe('devbox.local');
    expect(cert.verify(new X509Certificate(await readFile(wider.caFile)).publicKey)).toBe(true);
  });

  it('resolves TLS_SELF_SIGNED: auto only for pnpm start on loopback, true anywhere', async () => {
    const dir = await tempDir();
    const auto = { ...base, DATA_DIR: dir, TLS_SELF_SIGNED: 'auto' as const };
    const local = await resolveSelfSigned(auto, {
      standalone: true,
      hosts: ['127.0.0.1', 'localhost'],
      logger,
    });
    expect(local.TLS_SELF_SIGNED).toBe('true');
    expect(local.TLS_CERT_FILE).toBe(path.join(dir, 'tls', 'cert.pem'));
    const role = await resolveSelfSigned(auto, { standalone: false, hosts: ['127.0.0.1'], logger });
    expect(role).toMatchObject({ TLS_SELF_SIGNED: 'false' });
    expect(role.TLS_CERT_FILE).toBeUndefined();
    const exposed = await resolveSelfSigned(auto, {
      standalone: true,
      hosts: ['0.0.0.0', '127.0.0.1'],
      logger,
    });
    expect(exposed.TLS_CERT_FILE).toBeUndefined();
    const forced = await resolveSelfSigned(
      { ...auto, TLS_SELF_SIGNED: 'true' },
      { standalone: false, hosts: ['0.0.0.0'], logger },
    );
    expect(forced.TLS_CERT_FILE).toBe(path.join(dir, 'tls', 'cert.pem'));
    // A configured certificate wins.
    const given = { ...auto, TLS_CERT_FILE: '/etc/c.pem', TLS_KEY_FILE: '/etc/k.pem' };
    expect(await resolveSelfSigned(given, { standalone: true, hosts: ['127.0.0.1'], logger })).toBe(
      given,
    );
  });
});
