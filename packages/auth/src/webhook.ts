import { createHmac } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import { BlockedAddressError, guardedLookup, isPrivateAddress } from './address-guard.ts';
import { OPEN_ID_PREFIX } from './open.ts';
import type { StrategyContext, Verdict } from './strategy.ts';

// The auth webhook, with deepstream's HTTP authentication contract (VALVE.md
// E.6): POST {connectionData, authData}; permitted status codes let in,
// retry status codes and network failures are retried, anything else turns
// away. We add a signature header, the private-address guard, a total
// deadline per attempt and per login, and forward only an allow-list of the
// client's upgrade headers (README "Auth webhook").

export const SIGNATURE_HEADER = 'x-hubstream-signature';
const MAX_REPLY_BYTES = 64 * 1024;

/**
 * The client's upgrade headers the webhook sees in connectionData.headers.
 * Others (cookie, authorization, anything the client's browser attached)
 * only when the app names them in promoteToHeader.
 */
export const FORWARDED_HEADERS: readonly string[] = [
  'host',
  'origin',
  'referer',
  'user-agent',
  'accept-language',
];

type Reply = { status: number; body: unknown };
type Attempt = { kind: 'reply'; reply: Reply } | { kind: 'failed'; error: Error };

class WebhookTimeout extends Error {
  override readonly name = 'WebhookTimeout';
}

/** A request the webhook strategy sent, exactly (the dashboard's test button shows it). */
export type SentRequest = {
  method: 'POST';
  url: string;
  headers: Record<string, string>;
  body: string;
};

/** What the webhook strategy needs of a login's context. */
export type WebhookContext = Pick<
  StrategyContext,
  'appId' | 'settings' | 'info' | 'log' | 'allowPrivateAddresses' | 'webhookLoginTimeoutMs'
>;

/** `t=<unix seconds>,v1=<hex HMAC-SHA256 of "t.body">`, as Stripe signs its webhooks. */
export function sign(secret: string, body: string, time = Math.floor(Date.now() / 1000)): string {
  const mac = createHmac('sha256', secret).update(`${time}.${body}`).digest('hex');
  return `t=${time},v1=${mac}`;
}

function parseBody(text: string): unknown {
  if (text.length === 0) return '';
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/**
 * One attempt: connect, send, read the whole reply within `deadlineMs` in
 * all (not an idle timeout: a webhook that drips a byte a second is cut off
 * at the deadline all the same).
 */
function post(
  url: URL,
  sent: SentRequest,
  allowPrivateAddresses: boolean,
  deadlineMs: number,
): Promise<Attempt> {
  return new Promise((resolve) => {
    const host = url.hostname.replace(/^\[|\]$/g, '');
    if (!allowPrivateAddresses && isIP(host) && isPrivateAddress(host)) {
      resolve({ kind: 'failed', error: new BlockedAddressError(`${host} is a private address`) });
      return;
    }
    let settled = false;
    const finish = (attempt: Attempt) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(attempt);
      request.destroy();
    };
    const client = url.protocol === 'https:' ? https : http;
    const request = client.request(
      url,
      {
        method: sent.method,
        headers: sent.headers,
        ...(allowPrivateAddresses ? {} : { lookup: guardedLookup }),
      },
      (response) => {
        let size = 0;
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_REPLY_BYTES) {
            finish({ kind: 'failed', error: new Error('webhook reply too large') });
            return;
          }
          chunks.push(chunk);
        });
        response.on('end', () =>
          finish({
            kind: 'reply',
            reply: {
              status: response.statusCode ?? 0,
              body: parseBody(Buffer.concat(chunks).toString('utf8')),
            },
          }),
        );
        response.on('error', (error) => finish({ kind: 'failed', error }));
        response.on('close', () =>
          finish({ kind: 'failed', error: new Error('webhook reply cut short') }),
        );
      },
    );
    const timer = setTimeout(
      () => finish({ kind: 'failed', error: new WebhookTimeout('webhook timed out') }),
      deadlineMs,
    );
    request.on('error', (error) => finish({ kind: 'failed', error }));
    request.end(sent.body);
  });
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function verdictOf(reply: Reply, context: WebhookContext): Verdict {
  const { settings } = context;
  if (!settings.webhookPermittedStatusCodes.includes(reply.status)) {
    if (typeof reply.body === 'string' && reply.body.length > 0)
      return { kind: 'deny', clientData: { error: reply.body } };
    if (isObject(reply.body) && Object.keys(reply.body).length > 0)
      return { kind: 'deny', clientData: { ...reply.body } };
    return { kind: 'deny' };
  }
  let id: unknown;
  let clientData: unknown;
  let serverData: unknown;
  if (typeof reply.body === 'string' && reply.body.length > 0) {
    id = reply.body;
  } else if (isObject(reply.body)) {
    ({ id, clientData, serverData } = reply.body);
  }
  if (typeof id !== 'string' || id.length === 0 || id.length > 256) {
    context.log.warn({ app: context.appId }, 'auth webhook allowed a login without an id: denied');
    return { kind: 'deny', clientData: { error: 'WEBHOOK_REPLY_WITHOUT_ID' } };
  }
  // Open auth's ids: a webhook user must never share one with an open login.
  if (id.startsWith(OPEN_ID_PREFIX)) {
    context.log.warn({ app: context.appId }, `auth webhook replied with an ${OPEN_ID_PREFIX} id`);
    return { kind: 'deny', clientData: { error: 'WEBHOOK_ID_RESERVED' } };
  }
  return {
    kind: 'allow',
    user: { id, isAuthenticated: true, strategy: 'webhook', data: serverData ?? {} },
    clientData: { ...(isObject(clientData) ? clientData : {}), id },
  };
}

/** The client's upgrade headers that the webhook may see (FORWARDED_HEADERS, plus promoted names). */
export function forwardedHeaders(
  headers: Record<string, string>,
  promoted: readonly string[],
): Record<string, string> {
  const allowed = new Set([...FORWARDED_HEADERS, ...promoted.map((h) => h.toLowerCase())]);
  const kept: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (allowed.has(name.toLowerCase())) kept[name.toLowerCase()] = value;
  }
  return kept;
}

/** The request a login sends: body, fixed and promoted headers, signature. */
export function webhookRequest(
  authData: Record<string, unknown>,
  context: Pick<WebhookContext, 'settings' | 'info'>,
): SentRequest {
  const { settings, info } = context;
  const connectionData = {
    remoteAddress: info.remoteAddress,
    headers: forwardedHeaders(info.headers, settings.webhookPromoteToHeader),
  };
  const body = JSON.stringify({ connectionData, authData });
  const headers: Record<string, string> = {
    ...(settings.webhookHeaders as Record<string, string>),
  };
  for (const field of settings.webhookPromoteToHeader) {
    const value = authData[field];
    if (value) headers[field] = typeof value === 'string' ? value : JSON.stringify(value);
  }
  if (settings.webhookSigningSecret)
    headers[SIGNATURE_HEADER] = sign(settings.webhookSigningSecret, body);
  headers['content-type'] = 'application/json';
  headers['content-length'] = String(Buffer.byteLength(body));
  return { method: 'POST', url: settings.webhookUrl ?? '', headers, body };
}

const TIMED_OUT: Verdict = {
  kind: 'deny',
  reason: 'strategy_error',
  clientData: { error: 'WEBHOOK_TIMEOUT' },
};

/**
 * The pause before a retry: the app's `retryIntervalMs` and up to a quarter
 * more, at random. Logins that failed together (a webhook outage, or many
 * sent at once to a slow one) then do not all retry in the same
 * millisecond: twenty retries firing in one timer callback held a node's
 * event loop for 1-2 ms (bench:attacks webhook drip, a CPU profile lined up
 * with the other app's slow samples), and the webhook's server gets them in
 * one burst.
 */
export function retryPauseMs(intervalMs: number, random: () => number = Math.random): number {
  return Math.round(intervalMs * (1 + random() / 4));
}

/**
 * `observe` sees the request as sent (once; retries send the same). The
 * whole login, retries and their pauses included, ends within
 * `webhookLoginTimeoutMs`; each attempt within the app's `timeoutMs`.
 */
export async function webhookStrategy(
  authData: Record<string, unknown>,
  context: WebhookContext,
  observe?: (sent: SentRequest) => void,
): Promise<Verdict> {
  const { settings } = context;
  if (!settings.webhookUrl)
    return { kind: 'deny', clientData: { error: 'WEBHOOK_NOT_CONFIGURED' } };
  const url = new URL(settings.webhookUrl);
  const sent = webhookRequest(authData, context);
  observe?.(sent);
  const deadline = Date.now() + context.webhookLoginTimeoutMs;

  for (let attempt = 0; attempt <= settings.webhookRetryAttempts; attempt++) {
    if (attempt > 0) {
      const pause = retryPauseMs(settings.webhookRetryIntervalMs);
      if (Date.now() + pause >= deadline) return TIMED_OUT;
      await new Promise((r) => setTimeout(r, pause));
    }
    const left = deadline - Date.now();
    if (left <= 0) return TIMED_OUT;
    const result = await post(
      url,
      sent,
      context.allowPrivateAddresses,
      Math.min(settings.webhookTimeoutMs, left),
    );
    if (result.kind === 'failed') {
      if (result.error instanceof BlockedAddressError) {
        context.log.warn(
          { app: context.appId },
          'auth webhook points at a private address: denied',
        );
        return { kind: 'deny', clientData: { error: 'WEBHOOK_ADDRESS_NOT_ALLOWED' } };
      }
      if (result.error instanceof WebhookTimeout && Date.now() >= deadline) return TIMED_OUT;
      continue;
    }
    if (result.reply.status >= 500) {
      context.log.warn(
        { app: context.appId, status: result.reply.status },
        'auth webhook server error',
      );
    }
    if (settings.webhookRetryStatusCodes.includes(result.reply.status)) continue;
    return verdictOf(result.reply, context);
  }
  return { kind: 'deny', clientData: { error: 'AUTH_RETRY_ATTEMPTS_EXCEEDED' } };
}
