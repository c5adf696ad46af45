import { randomBytes, webcrypto, X509Certificate } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import path from 'node:path';

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;
type X509Module = typeof import('@peculiar/x509');

// Certificates made here: a local certificate authority and server
// certificates it signs (ECDSA P-256). `pnpm start` uses them for its
// self-signed TLS (TLS_SELF_SIGNED); the tests make their CAs with them.

let x509Module: Promise<X509Module> | undefined;

/**
 * @peculiar/x509, loaded when a certificate is made: with its ASN.1 and
 * dependency-injection packages it is about 170 modules, a few hundred
 * milliseconds of every start, and a restart reuses the files it made
 * (reading them needs only node:crypto).
 */
function loadX509(): Promise<X509Module> {
  x509Module ??= (async () => {
    // @peculiar/x509 resolves its services through tsyringe, which needs the
    // Reflect metadata polyfill loaded first.
    await import('reflect-metadata');
    const x509 = await import('@peculiar/x509');
    // Node's WebCrypto is the standard Crypto; the cast spares the DOM typings.
    x509.cryptoProvider.set(webcrypto as never);
    return x509;
  })();
  return x509Module;
}

const ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY_MS = 24 * 3600 * 1000;

/** A PEM certificate and its PEM (PKCS#8) private key. */
export type KeyPair = { cert: string; key: string };

async function newKeys(): Promise<CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify'])) as CryptoKeyPair;
}

async function pemKey(x509: X509Module, key: CryptoKey): Promise<string> {
  return x509.PemConverter.encode(await webcrypto.subtle.exportKey('pkcs8', key), 'PRIVATE KEY');
}

function serial(): string {
  // Positive (high bit clear) and unique enough for a private CA.
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0] ?? 0) & 0x7f;
  return bytes.toString('hex');
}

function validity(days: number, notBefore = new Date(Date.now() - 60_000)) {
  return { notBefore, notAfter: new Date(notBefore.getTime() + days * DAY_MS) };
}

/** A new certificate authority that can sign server certificates. */
export async function createCertificateAuthority(
  options: { commonName?: string; days?: number } = {},
): Promise<KeyPair> {
  const x509 = await loadX509();
  const keys = await newKeys();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: `CN=${options.commonName ?? 'Hubstream local CA'}`,
    ...validity(options.days ?? 3650),
    keys,
    signingAlgorithm: ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign,
        true,
      ),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { cert: cert.toString('pem'), key: await pemKey(x509, keys.privateKey) };
}

/**
 * A server certificate for `hosts` (DNS names and IP addresses, the first
 * one also its common name), signed by `ca`.
 */
export async function issueServerCertificate(
  ca: KeyPair,
  options: { hosts: readonly string[]; days?: number; notBefore?: Date },
): Promise<KeyPair> {
  const [first] = options.hosts;
  if (first === undefined) throw new Error('A server certificate needs at least one host name');
  const x509 = await loadX509();
  const caCert = new x509.X509Certificate(ca.cert);
  const caKey = await webcrypto.subtle.importKey(
    'pkcs8',
    x509.PemConverter.decodeFirst(ca.key),
    ALGORITHM,
    false,
    ['sign'],
  );
  const keys = await newKeys();
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: `CN=${first}`,
    issuer: caCert.subject,
    ...validity(options.days ?? 825, options.notBefore),
    publicKey: keys.publicKey,
    signingKey: caKey,
    signingAlgorithm: ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(
        options.hosts.map((host) =>
          isIP(host) ? { type: 'ip' as const, value: host } : { type: 'dns' as const, value: host },
        ),
      ),
      await x509.AuthorityKeyIdentifierExtension.create(caCert),
    ],
  });
  return { cert: cert.toString('pem'), key: await pemKey(x509, keys.privateKey) };
}

/** The SHA-256 fingerprint of a PEM certificate (its first one), as `AB:CD:...`. */
export function fingerprint256(certPem: string | Buffer): string {
  return new X509Certificate(certPem).fingerprint256;
}

export type SelfSigned = {
  /** The CA to trust (NODE_EXTRA_CA_CERTS, the browser's or OS's store). */
  caFile: string;
  certFile: string;
  keyFile: string;
  /** SHA-256 fingerprint of the server certificate. */
  fingerprint: string;
  /** SHA-256 fingerprint of the CA certificate. */
  caFingerprint: string;
  /** Whether this call made the server certificate (else it reused the one there). */
  created: boolean;
};

async function readOrNull(file: string): Promise<string | null> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

/** Whether a certificate is valid for 30 more days and names every host. */
function stillGood(certPem: string, hosts: readonly string[]): boolean {
  const cert = new X509Certificate(certPem);
  if (new Date(cert.validTo).getTime() < Date.now() + 30 * DAY_MS) return false;
  return hosts.every((host) => (isIP(host) ? cert.checkIP(host) : cert.checkHost(host)));
}

/**
 * The self-signed pair of `pnpm start` under `dir` (DATA_DIR/tls): a local
 * CA (ca.pem, its key ca-key.pem) made once, and a server certificate for
 * `hosts` (cert.pem, key.pem) made by it and remade only when it nears its
 * end or misses a host, so a CA the developer trusted once stays trusted.
 */
export async function ensureSelfSigned(dir: string, hosts: readonly string[]): Promise<SelfSigned> {
  dir = path.resolve(dir);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const caFile = path.join(dir, 'ca.pem');
  const caKeyFile = path.join(dir, 'ca-key.pem');
  const certFile = path.join(dir, 'cert.pem');
  const keyFile = path.join(dir, 'key.pem');
  let caCert = await readOrNull(caFile);
  let caKey = await readOrNull(caKeyFile);
  const newCa = caCert === null || caKey === null;
  if (caCert === null || caKey === null) {
    const ca = await createCertificateAuthority();
    await writeFile(caKeyFile, ca.key, { mode: 0o600 });
    await writeFile(caFile, ca.cert, { mode: 0o644 });
    caCert = ca.cert;
    caKey = ca.key;
  }
  const existing = await readOrNull(certFile);
  const keyThere = (await readOrNull(keyFile)) !== null;
  let created = false;
  if (newCa || existing === null || !keyThere || !stillGood(existing, hosts)) {
    const pair = await issueServerCertificate({ cert: caCert, key: caKey }, { hosts });
    await writeFile(keyFile, pair.key, { mode: 0o600 });
    await writeFile(certFile, pair.cert, { mode: 0o644 });
    created = true;
  }
  return {
    caFile,
    certFile,
    keyFile,
    fingerprint: fingerprint256(await readFile(certFile)),
    caFingerprint: fingerprint256(caCert),
    created,
  };
}
