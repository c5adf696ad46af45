import type { FastifyInstance, FastifyRequest } from 'fastify';
import { SESSION_COOKIE } from '../context.ts';
import { ApiError } from '../errors.ts';

// Browser-facing defences of the control plane.
//
// Cross-site requests: the session cookie is SameSite=Lax, which still lets
// a top-level cross-site form POST through in some browsers and does nothing
// for same-site attackers on another port. So a state-changing request
// (POST, PUT, PATCH, DELETE) that authenticates with the cookie must come
// from the control plane's own pages: its Origin (or, without one, its
// Sec-Fetch-Site) must say so. A bearer token is never sent by a browser on
// its own, so bearer requests are exempt; a request with neither header did
// not come from a browser, so nothing can have forged it.
//
// Headers: the dashboard gets a Content-Security-Policy that allows only its
// own scripts (styles may be inline: CodeMirror and React set them), nobody
// may frame any page, responses are never sniffed, no Referer leaves (links
// such as /verify-email?token=... carry secrets), and HSTS is sent on TLS
// for names other than loopback ones (HSTS pins a whole host, every port).

const STATE_CHANGING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

export const DASHBOARD_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** For the API's JSON: nothing in it may load or run anything. */
export const API_CSP = "default-src 'none'; frame-ancestors 'none'";

/** The API reference page (swagger-ui) brings its own inline code: only framing is refused. */
export const DOCS_CSP = "frame-ancestors 'none'";

export const HSTS = 'max-age=31536000';

const LOOPBACK_HOST = /^(localhost|127(?:\.\d{1,3}){3}|\[::1\])(:\d+)?$/i;

/** Origins this control plane's pages have: its own host, and PUBLIC_HTTP_URL's. */
export function isOwnOrigin(
  request: FastifyRequest,
  origin: string,
  publicUrl: string | undefined,
) {
  let parsed: URL;
  try {
    parsed = new URL(origin);
  } catch {
    return false; // includes "null" (sandboxed frames, file:// pages)
  }
  if (parsed.host === request.host) return true;
  if (!publicUrl) return false;
  try {
    return parsed.origin === new URL(publicUrl).origin;
  } catch {
    return false;
  }
}

const crossSite = (what: string) =>
  new ApiError(
    'FORBIDDEN',
    `Cross-site request refused: ${what}. Requests authenticated by the session cookie must come from the dashboard itself; scripts should send "Authorization: Bearer" with a session token or an API key instead.`,
  );

export function registerSecurity(
  app: FastifyInstance,
  options: { publicUrl: string | undefined },
): void {
  app.addHook('onRequest', async (request) => {
    if (!STATE_CHANGING.has(request.method)) return;
    if (request.headers.authorization) return; // bearer: not a browser's ambient credential
    if (!request.cookies?.[SESSION_COOKIE]) return;
    const origin = request.headers.origin;
    if (origin !== undefined) {
      if (!isOwnOrigin(request, origin, options.publicUrl)) {
        throw crossSite(`Origin ${origin} is not this control plane`);
      }
      return;
    }
    const site = request.headers['sec-fetch-site'];
    if (site !== undefined && site !== 'same-origin' && site !== 'none') {
      throw crossSite(`the browser says it came from a ${site} page`);
    }
  });

  app.addHook('onSend', async (request, reply, payload) => {
    reply.header('x-content-type-options', 'nosniff');
    reply.header('referrer-policy', 'no-referrer');
    reply.header('x-frame-options', 'DENY');
    const path = request.url.split('?')[0] ?? '/';
    const type = String(reply.getHeader('content-type') ?? '');
    let csp = API_CSP;
    if (path === '/docs' || path.startsWith('/docs/')) csp = DOCS_CSP;
    else if (type.startsWith('text/html')) csp = DASHBOARD_CSP;
    reply.header('content-security-policy', csp);
    if (request.protocol === 'https' && !LOOPBACK_HOST.test(request.host)) {
      reply.header('strict-transport-security', HSTS);
    }
    return payload;
  });
}
