import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Config } from '@hubstream/config';
import type { FastifyInstance } from 'fastify';
import Type from 'typebox';
import type { ControlPlaneContext } from '../../context.ts';
import { ApiError } from '../../errors.ts';
import { errors } from '../../lib/schemas.ts';
import { requireDeveloper } from '../../plugins/auth.ts';

// What a developer needs on their own machine to make the first client work:
// the local CA that `pnpm start` made (TLS_SELF_SIGNED), so that wss:// and
// https:// are trusted, and the official client's browser bundle, served by
// us so that a <script> tag works without any CDN.

export const CA_PEM_PATH = '/v1/local-ca/ca.pem';
export const CLIENT_BUNDLE_PATH = '/sdk/deepstream-client.min.js';

/** The self-signed CA's file when this server runs on it, else null. */
export function localCaFile(config: Config): string | null {
  if (config.TLS_SELF_SIGNED !== 'true' || !config.TLS_CERT_FILE) return null;
  const dir = path.resolve(config.DATA_DIR, 'tls');
  // TLS_CERT_FILE names the pair in DATA_DIR/tls only when it was made here.
  if (path.dirname(path.resolve(config.TLS_CERT_FILE)) !== dir) return null;
  return path.join(dir, 'ca.pem');
}

/**
 * The certificates in a PEM file and nothing else: whatever else the file
 * held (a key put there by mistake) is never sent.
 */
export function certificatesOnly(pem: string): string | null {
  const blocks = pem.match(
    /-----BEGIN CERTIFICATE-----[A-Za-z0-9+/=\r\n]+-----END CERTIFICATE-----/g,
  );
  if (!blocks) return null;
  for (const block of blocks) new X509Certificate(block);
  return `${blocks.join('\n')}\n`;
}

async function readCa(config: Config) {
  const file = localCaFile(config);
  if (!file) return null;
  const pem = certificatesOnly(await readFile(file, 'utf8').catch(() => ''));
  if (!pem) return null;
  return { file, pem, fingerprint256: new X509Certificate(pem).fingerprint256 };
}

const LocalCa = Type.Object(
  {
    selfSigned: Type.Boolean({
      description:
        'Whether the servers use the local CA that Hubstream made (TLS_SELF_SIGNED): clients must trust it.',
    }),
    caUrl: Type.Union([Type.String(), Type.Null()], {
      description: 'Where to download the CA certificate (public, never a key).',
    }),
    caFile: Type.Union([Type.String(), Type.Null()], {
      description: 'The CA file on the server machine, for NODE_EXTRA_CA_CERTS.',
    }),
    fingerprint256: Type.Union([Type.String(), Type.Null()], {
      description: "The CA certificate's SHA-256 fingerprint.",
    }),
  },
  {
    description: 'The local CA, when the servers run on one.',
    examples: [
      {
        selfSigned: true,
        caUrl: CA_PEM_PATH,
        caFile: '/home/ada/hubstream/.hubstream/tls/ca.pem',
        fingerprint256: '3F:2A:…:9C',
      },
    ],
  },
);

export const localCaRoutes: FastifyPluginAsyncTypebox<ControlPlaneContext> = async (
  app,
  context,
) => {
  const tags = ['local setup'];

  app.get(
    '/local-ca',
    {
      schema: {
        tags,
        summary: 'Whether the servers use a self-signed local CA, and where to get it',
        response: { 200: LocalCa, ...errors(401, 403) },
      },
    },
    async (request) => {
      await requireDeveloper(context.db.prisma, request);
      const ca = await readCa(context.config);
      return ca
        ? {
            selfSigned: true,
            caUrl: CA_PEM_PATH,
            caFile: ca.file,
            fingerprint256: ca.fingerprint256,
          }
        : { selfSigned: false, caUrl: null, caFile: null, fingerprint256: null };
    },
  );

  app.get(
    '/local-ca/ca.pem',
    {
      schema: {
        tags,
        summary: 'Download the local CA certificate (PEM) to trust',
        description:
          'Only the public certificate of the CA that `pnpm start` made (TLS_SELF_SIGNED), never a key. 404 when the servers do not use one.',
        security: [],
        produces: ['application/x-pem-file'],
        response: {
          200: Type.String({
            description: 'The CA certificate, PEM.',
            examples: ['-----BEGIN CERTIFICATE-----\nMIIB…\n-----END CERTIFICATE-----\n'],
          }),
          ...errors(404),
        },
      },
    },
    async (_request, reply) => {
      const ca = await readCa(context.config);
      if (!ca) {
        throw new ApiError(
          'NOT_FOUND',
          'This server does not use a self-signed local CA (TLS_SELF_SIGNED): there is nothing to trust.',
        );
      }
      return reply
        .header('content-type', 'application/x-pem-file')
        .header('content-disposition', 'attachment; filename="hubstream-local-ca.pem"')
        .header('cache-control', 'no-cache')
        .send(ca.pem);
    },
  );
};

const require = createRequire(import.meta.url);

/** The official client's browser bundle (UMD: `window.DeepstreamClient`), for <script> tags. */
export function registerClientBundle(app: FastifyInstance) {
  let bundle: Promise<Buffer> | undefined;
  app.get(
    CLIENT_BUNDLE_PATH,
    {
      schema: {
        tags: ['local setup'],
        summary: "The official deepstream client's browser bundle, for a <script> tag",
        description:
          'The UMD bundle of `@deepstream/client`: it defines `window.DeepstreamClient`, whose `DeepstreamClient` is the client class.',
        security: [],
        produces: ['text/javascript'],
        response: {
          200: Type.String({
            description: 'JavaScript.',
            examples: ['!function(t,e){…}(this,…)'],
          }),
        },
      },
    },
    async (_request, reply) => {
      bundle ??= readFile(require.resolve('@deepstream/client/dist/bundle/ds.min.js'));
      return reply
        .header('content-type', 'text/javascript; charset=utf-8')
        .header('cache-control', 'public, max-age=3600')
        .header('access-control-allow-origin', '*')
        .send(await bundle);
    },
  );
}
