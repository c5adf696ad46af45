import { createRequire } from 'node:module';
import { pino } from 'pino';
import type PinoPretty from 'pino-pretty';

export type Logger = pino.Logger;
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

const CENSOR = '[redacted]';

// Keys whose values are secrets wherever they sit in a log object, compared
// without case, dashes or underscores (`X-Api-Key`, `api_key` and `apiKey`
// are one key). Pino's own path redaction only reaches fixed depths, so every
// logged object is walked instead: a careless `log.info({ app })` with a
// webhook secret three levels down leaks nothing either.
const SECRET_KEYS = new Set(
  [
    'password',
    'passwordHash',
    'newPassword',
    'currentPassword',
    'token',
    'accessToken',
    'refreshToken',
    'sessionToken',
    'resetToken',
    'verificationToken',
    'apiKey',
    'xApiKey',
    'secret',
    'clientSecret',
    'signingSecret',
    'webhookSecret',
    'authorization',
    'proxyAuthorization',
    'cookie',
    'setCookie',
    'authData',
    'privateKey',
    'smtpUrl',
    'metricsToken',
  ].map((key) => normalize(key)),
);

function normalize(key: string): string {
  return key.replace(/[-_]/g, '').toLowerCase();
}

export function isSecretKey(key: string): boolean {
  return SECRET_KEYS.has(normalize(key));
}

/** Only plain data is walked: requests, sockets and errors keep their serializers. */
function isPlain(value: unknown): value is Record<string, unknown> | unknown[] {
  if (Array.isArray(value)) return true;
  if (typeof value !== 'object' || value === null) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

const MAX_DEPTH = 10;

/**
 * A copy of `value` with every secret-named field censored; the same object
 * when there is nothing to censor (no copy on the common path).
 */
export function redactSecrets<T>(value: T, depth = 0, ancestors = new Set<object>()): T {
  if (!isPlain(value) || depth > MAX_DEPTH) return value;
  // A cycle: the copy must not lead back into the unredacted original.
  if (ancestors.has(value)) return '[Circular]' as T;
  ancestors.add(value);
  try {
    return redactPlain(value, depth, ancestors) as T;
  } finally {
    ancestors.delete(value);
  }
}

function redactPlain(
  value: Record<string, unknown> | unknown[],
  depth: number,
  seen: Set<object>,
): Record<string, unknown> | unknown[] {
  if (Array.isArray(value)) {
    let copy: unknown[] | undefined;
    value.forEach((item, i) => {
      const redacted = redactSecrets(item, depth + 1, seen);
      if (redacted !== item) {
        copy ??= [...value];
        copy[i] = redacted;
      }
    });
    return copy ?? value;
  }
  let copy: Record<string, unknown> | undefined;
  for (const [key, item] of Object.entries(value)) {
    const redacted =
      isSecretKey(key) && item !== undefined && item !== null
        ? CENSOR
        : redactSecrets(item, depth + 1, seen);
    if (redacted !== item) {
      copy ??= { ...value };
      copy[key] = redacted;
    }
  }
  return copy ?? value;
}

/** A URL with the values of secret-named query parameters censored (`/verify-email?token=...`). */
export function redactUrl(url: string): string {
  const query = url.indexOf('?');
  if (query === -1) return url;
  const params = url
    .slice(query + 1)
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      if (eq === -1) return pair;
      let name = pair.slice(0, eq);
      try {
        name = decodeURIComponent(name);
      } catch {
        // keep the raw name
      }
      return isSecretKey(name) ? `${pair.slice(0, eq)}=${CENSOR}` : pair;
    });
  return `${url.slice(0, query)}?${params.join('&')}`;
}

type LoggedRequest = {
  id?: unknown;
  method?: string;
  url?: string;
  host?: string;
  ip?: string;
  socket?: { remotePort?: number };
};

// Fastify's own request serializer, minus secrets in the query string.
function serializeRequest(request: LoggedRequest) {
  return {
    method: request.method,
    url: typeof request.url === 'string' ? redactUrl(request.url) : request.url,
    host: request.host,
    remoteAddress: request.ip,
    remotePort: request.socket?.remotePort,
  };
}

// Fixed paths on top of the walk: headers of raw serialized requests and
// responses, and the top-level bindings of child loggers (which the walk
// never sees: pino redacts child bindings by these paths only).
const REDACT = [
  'password',
  'token',
  'apiKey',
  'secret',
  'authorization',
  'cookie',
  'authData',
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'res.headers["set-cookie"]',
];

/**
 * Logs for a person at a terminal: one coloured line per entry (time, level,
 * message, then its fields), written synchronously like the JSON lines.
 * Loaded only when used.
 */
function prettyStream(): pino.DestinationStream {
  const build = createRequire(import.meta.url)('pino-pretty') as typeof PinoPretty;
  return build({
    sync: true,
    colorize: true,
    singleLine: true,
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'pid,hostname,name',
  });
}

/**
 * Structured JSON logs (one object per line) on stdout, with secrets
 * censored; when stdout is a terminal (`pnpm start` by hand), the same
 * entries pretty-printed instead. `pretty` forces either.
 */
export function createLogger(options: {
  level: LogLevel;
  name: string;
  destination?: pino.DestinationStream;
  pretty?: boolean;
}): Logger {
  const pretty = options.pretty ?? (options.destination === undefined && process.stdout.isTTY);
  return pino(
    {
      name: options.name,
      level: options.level,
      redact: { paths: REDACT, censor: CENSOR },
      formatters: { log: (object) => redactSecrets(object) },
      serializers: { req: serializeRequest },
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    options.destination ?? (pretty ? prettyStream() : undefined),
  );
}
