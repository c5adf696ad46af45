import { existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { packageRoot } from '@hubstream/config';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ApiError } from '../errors.ts';

// Serves the dashboard (apps/dashboard, built by `vite build` into dist/) at
// `/`. A path that is not a built file gets index.html, so the SPA's client
// routes (/apps/x, /verify-email?token=...) survive a reload; the API's own
// prefixes are never shadowed and keep their JSON 404.

// apps/dashboard/dist in the repository (sources or dist/ alike); a deployed
// control plane serves the copy that `pnpm build` puts in its dist/dashboard.
// Both are found from the package's root (see packageRoot).
const PACKAGE_ROOT = packageRoot(import.meta.url);
const REPOSITORY_DASHBOARD = path.join(PACKAGE_ROOT, '..', 'dashboard', 'dist') + path.sep;
const PACKAGED_DASHBOARD = path.join(PACKAGE_ROOT, 'dist', 'dashboard') + path.sep;
export const DEFAULT_DASHBOARD_DIR =
  !existsSync(REPOSITORY_DASHBOARD) && existsSync(PACKAGED_DASHBOARD)
    ? PACKAGED_DASHBOARD
    : REPOSITORY_DASHBOARD;

const RESERVED = /^\/(v1|docs|openapi\.json|health|ready)(\/|$|\?)/;

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.woff2': 'font/woff2',
  '.map': 'application/json; charset=utf-8',
};

const NOT_BUILT = `<!doctype html><meta charset="utf-8"><title>Hubstream</title>
<p>The dashboard has not been built. Run <code>pnpm build:dashboard</code> (<code>pnpm start</code> does it for you), then reload.</p>`;

const wantsHtml = (accept: string | undefined) => (accept ?? '').includes('text/html');

async function fileIn(root: string, urlPath: string): Promise<string | null> {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return null;
  }
  const resolved = path.resolve(root, `.${path.posix.normalize(`/${decoded}`)}`);
  if (resolved !== root && !resolved.startsWith(root + path.sep)) return null;
  try {
    return (await stat(resolved)).isFile() ? resolved : null;
  } catch {
    return null;
  }
}

async function send(reply: FastifyReply, file: string, immutable: boolean) {
  const type = TYPES[path.extname(file)] ?? 'application/octet-stream';
  return reply
    .header('content-type', type)
    .header('cache-control', immutable ? 'public, max-age=31536000, immutable' : 'no-cache')
    .header('x-content-type-options', 'nosniff')
    .send(await readFile(file));
}

/** Registers GET / and the SPA fallback; `dir` is the built dashboard. */
export function registerDashboard(app: FastifyInstance, dir = DEFAULT_DASHBOARD_DIR) {
  const root = path.resolve(dir);
  const handler = async (request: FastifyRequest, reply: FastifyReply) => {
    const urlPath = request.url.split('?')[0] ?? '/';
    if (RESERVED.test(urlPath)) {
      throw new ApiError('NOT_FOUND', `No route for ${request.method} ${request.url}.`);
    }
    const file = urlPath === '/' ? null : await fileIn(root, urlPath);
    // Vite puts content-hashed bundles under assets/: cache them forever.
    if (file) return send(reply, file, urlPath.startsWith('/assets/'));
    // Only a browser navigating to a client route gets the app; API clients
    // (curl, fetch, SDKs) keep the JSON 404 for a path that does not exist.
    if (urlPath !== '/' && !wantsHtml(request.headers.accept)) {
      throw new ApiError('NOT_FOUND', `No route for ${request.method} ${request.url}.`);
    }
    const index = await fileIn(root, '/index.html');
    if (!index) return reply.code(503).type('text/html; charset=utf-8').send(NOT_BUILT);
    return send(reply, index, false);
  };
  // Static files and page loads are logged at debug, one line each: at info
  // Fastify's two request lines per asset would bury everything else. Their
  // own request logger only passes warnings and errors.
  const logged = async (request: FastifyRequest, reply: FastifyReply) => {
    const sent = await handler(request, reply);
    app.log.debug(
      { method: request.method, url: request.url.split('?')[0], statusCode: reply.statusCode },
      'dashboard file',
    );
    return sent;
  };
  app.get('/', { schema: { hide: true }, logLevel: 'warn' }, logged);
  app.get('/*', { schema: { hide: true }, logLevel: 'warn' }, logged);
}
