import { createHmac } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import { BlockedAddressError, guardedLookup, isPrivateAddress } from './address-guard.ts';
import type { Strategy, StrategyContext, Verdict } from './strategy.ts';

// The auth webhook, with deepstream's HTTP authentication contract (VALVE.md
// E.6): POST {connectionData, authData}; permitted status codes let in,
// retry status codes and network failures are retried, anything else turns
// away. We add a signature header and the private-address guard.

export const SIGNATURE_HEADER = 'x-hubstream-signature';
const MAX_REPLY_BYTES = 64 * 1024;

type Reply = { status: number; body: unknown };
type Attempt = { kind: 'reply'; reply: Reply } | { kind: 'failed'; error: Error };

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

function post(
  url: URL,
  body: string,
  headers: Record<string, string>,
  context: StrategyContext,
): Promise<Attempt> {
  const { settings, allowPrivateAddresses } = context;
  return new Promise((resolve) => {
    const host = url.hostname.replace(/^\[|\]$/g, '');
    if (!allowPrivateAddresses && isIP(host) && isPrivateAddress(host)) {
      resolve({ kind: 'failed', error: new BlockedAddressError(`${host} is a private address`) });
      return;
    }
    const client = url.protocol === 'https:' ? https : http;
    const request = client.request(
      url,
      {
        method: 'POST',
        headers: {
          ...headers,
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
        },
        timeout: settings.webhookTimeoutMs,
        ...(allowPrivateAddresses ? {} : { lookup: guardedLookup }),
      },
      (response) => {
        let size = 0;
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_REPLY_BYTES) {
            request.destroy(new Error('webhook reply too large'));
            return;
          }
          chunks.push(chunk);
        });
        response.on('end', () =>
          resolve({
            kind: 'reply',
            reply: {
              status: response.statusCode ?? 0,
              body: parseBody(Buffer.concat(chunks).toString('utf8')),
            },
          }),
        );
        response.on('error', (error) => resolve({ kind: 'failed', error }));
      },
    );
    request.on('timeout', () => request.destroy(new Error('webhook timed out')));
    request.on('error', (error) => resolve({ kind: 'failed', error }));
    request.end(body);
  });
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function verdictOf(reply: Reply, context: StrategyContext): Verdict {
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
  return {
    kind: 'allow',
    user: { id, isAuthenticated: true, data: serverData ?? {} },
    clientData: { ...(isObject(clientData) ? clientData : {}), id },
  };
}

export const webhookStrategy: Strategy = async (authData, context) => {
  const { settings, info } = context;
  if (!settings.webhookUrl)
    return { kind: 'deny', clientData: { error: 'WEBHOOK_NOT_CONFIGURED' } };
  const url = new URL(settings.webhookUrl);
  const body = JSON.stringify({ connectionData: info, authData });
  const headers: Record<string, string> = {
    ...(settings.webhookHeaders as Record<string, string>),
  };
  for (const field of settings.webhookPromoteToHeader) {
    const value = authData[field];
    if (value) headers[field] = typeof value === 'string' ? value : JSON.stringify(value);
  }
  if (settings.webhookSigningSecret)
    headers[SIGNATURE_HEADER] = sign(settings.webhookSigningSecret, body);

  for (let attempt = 0; attempt <= settings.webhookRetryAttempts; attempt++) {
    if (attempt > 0) await new Promise((r) => setTimeout(r, settings.webhookRetryIntervalMs));
    const result = await post(url, body, headers, context);
    if (result.kind === 'failed') {
      if (result.error instanceof BlockedAddressError) {
        context.log.warn(
          { app: context.appId },
          'auth webhook points at a private address: denied',
        );
        return { kind: 'deny', clientData: { error: 'WEBHOOK_ADDRESS_NOT_ALLOWED' } };
      }
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
};
