import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
// The realtime node's own guard, so that what is refused here is exactly
// what a login would refuse.
import { isPrivateAddress } from '@hubstream/auth';
import type { AppAuthSettings, Prisma, PrismaClient } from '@hubstream/db';
import { ApiError } from '../../errors.ts';
import type { AppChanges } from '../../lib/app-changes.ts';
import { audit } from '../../lib/audit.ts';
import { randomToken } from '../../lib/secrets.ts';
import type { Principal } from '../../plugins/auth.ts';

export type Strategy = 'open' | 'email' | 'webhook';

export type AuthSettingsInput = {
  order?: Strategy[];
  open?: { enabled: boolean };
  email?: { enabled: boolean };
  webhook?: Partial<{
    enabled: boolean;
    url: string | null;
    promoteToHeader: string[];
    headers: Record<string, string>;
    timeoutMs: number;
    permittedStatusCodes: number[];
    retryStatusCodes: number[];
    retryAttempts: number;
    retryIntervalMs: number;
    signingSecret: string | null;
  }>;
  unauthenticatedTimeoutMs?: number;
  maxAuthAttempts?: number;
};

export function settingsView(s: AppAuthSettings) {
  return {
    order: s.strategyOrder as Strategy[],
    open: { enabled: s.openEnabled },
    email: { enabled: s.emailEnabled },
    webhook: {
      enabled: s.webhookEnabled,
      url: s.webhookUrl,
      promoteToHeader: s.webhookPromoteToHeader,
      headers: s.webhookHeaders as Record<string, string>,
      timeoutMs: s.webhookTimeoutMs,
      permittedStatusCodes: s.webhookPermittedStatusCodes,
      retryStatusCodes: s.webhookRetryStatusCodes,
      retryAttempts: s.webhookRetryAttempts,
      retryIntervalMs: s.webhookRetryIntervalMs,
      signingSecret: s.webhookSigningSecret,
    },
    unauthenticatedTimeoutMs: s.unauthenticatedTimeoutMs,
    maxAuthAttempts: s.maxAuthAttempts,
    updatedAt: s.updatedAt.toISOString(),
  };
}

function problemsWithUrl(url: string): string | null {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 'webhook.url is not a URL.';
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') {
    return 'webhook.url must start with http:// or https://.';
  }
  if (parsed.username || parsed.password) {
    return 'webhook.url must not contain credentials; use webhook.headers instead.';
  }
  return null;
}

/**
 * The database update for a settings change, after checking the result as a
 * whole (a webhook that is on needs a URL). Throws INVALID_SETTINGS with
 * every problem; nothing is changed then.
 */
export function planUpdate(current: AppAuthSettings, input: AuthSettingsInput) {
  const webhook = input.webhook ?? {};
  const url = webhook.url !== undefined ? webhook.url : current.webhookUrl;
  const enabled = webhook.enabled ?? current.webhookEnabled;
  const problems: { path: string; message: string }[] = [];
  if (url !== null && url !== undefined) {
    const problem = problemsWithUrl(url);
    if (problem) problems.push({ path: '/webhook/url', message: problem });
  }
  if (enabled && !url) {
    problems.push({ path: '/webhook/url', message: 'A webhook that is enabled needs a url.' });
  }
  if (problems.length > 0) {
    throw new ApiError('INVALID_SETTINGS', problems.map((p) => p.message).join(' '), problems);
  }
  const data: Prisma.AppAuthSettingsUpdateInput = {};
  if (input.order) data.strategyOrder = input.order;
  if (input.open) data.openEnabled = input.open.enabled;
  if (input.email) data.emailEnabled = input.email.enabled;
  if (webhook.enabled !== undefined) data.webhookEnabled = webhook.enabled;
  if (webhook.url !== undefined) data.webhookUrl = webhook.url;
  if (webhook.promoteToHeader) data.webhookPromoteToHeader = webhook.promoteToHeader;
  if (webhook.headers) data.webhookHeaders = webhook.headers;
  if (webhook.timeoutMs !== undefined) data.webhookTimeoutMs = webhook.timeoutMs;
  if (webhook.permittedStatusCodes) data.webhookPermittedStatusCodes = webhook.permittedStatusCodes;
  if (webhook.retryStatusCodes) data.webhookRetryStatusCodes = webhook.retryStatusCodes;
  if (webhook.retryAttempts !== undefined) data.webhookRetryAttempts = webhook.retryAttempts;
  if (webhook.retryIntervalMs !== undefined) data.webhookRetryIntervalMs = webhook.retryIntervalMs;
  if (webhook.signingSecret !== undefined) data.webhookSigningSecret = webhook.signingSecret;
  // Every webhook call is signed: a secret exists from the first time it is on.
  const secret =
    webhook.signingSecret !== undefined ? webhook.signingSecret : current.webhookSigningSecret;
  if (enabled && !secret) data.webhookSigningSecret = randomToken('whsec_');
  if (input.unauthenticatedTimeoutMs !== undefined) {
    data.unauthenticatedTimeoutMs = input.unauthenticatedTimeoutMs;
  }
  if (input.maxAuthAttempts !== undefined) data.maxAuthAttempts = input.maxAuthAttempts;
  return data;
}

/**
 * Refuses (422) a webhook URL that the realtime nodes' private-address guard
 * would refuse at every login, naming the setting that allows it. A name
 * that does not resolve now is let through: DNS may differ where the nodes run.
 */
export async function checkWebhookAddress(
  url: string | null | undefined,
  allowPrivateAddresses: boolean,
): Promise<void> {
  if (allowPrivateAddresses || !url) return;
  let host: string;
  try {
    host = new URL(url).hostname.replace(/^\[|\]$/g, '');
  } catch {
    return; // planUpdate reports a URL that does not parse
  }
  let addresses: string[];
  if (isIP(host)) {
    addresses = [host];
  } else {
    // Bounded: a slow resolver must not hold the save (the nodes check again at every login).
    let timer: NodeJS.Timeout | undefined;
    try {
      const resolved = await Promise.race([
        lookup(host, { all: true }),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error('lookup timed out')), 2000);
        }),
      ]);
      addresses = resolved.map((a) => a.address);
    } catch {
      return;
    } finally {
      clearTimeout(timer);
    }
  }
  const blocked = addresses.find(isPrivateAddress);
  if (blocked === undefined) return;
  const message =
    `webhook.url points at ${blocked === host ? host : `${host} (${blocked})`}, a loopback or ` +
    'private address, which this Hubstream does not call: every login would be refused with ' +
    'WEBHOOK_ADDRESS_NOT_ALLOWED. Use a public address, or set ' +
    'WEBHOOK_ALLOW_PRIVATE_ADDRESSES=true on the control plane and the realtime nodes ' +
    '(pnpm start on loopback allows it by default).';
  throw new ApiError('INVALID_SETTINGS', message, [
    {
      path: '/webhook/url',
      message,
      address: blocked,
      setting: 'WEBHOOK_ALLOW_PRIVATE_ADDRESSES',
      value: 'true',
    },
  ]);
}

/** What changed, for the audit trail: field names only, never values of secrets. */
export function changedFields(input: AuthSettingsInput): string[] {
  const fields: string[] = [];
  if (input.order) fields.push('order');
  if (input.open) fields.push('open.enabled');
  if (input.email) fields.push('email.enabled');
  for (const key of Object.keys(input.webhook ?? {})) fields.push(`webhook.${key}`);
  if (input.unauthenticatedTimeoutMs !== undefined) fields.push('unauthenticatedTimeoutMs');
  if (input.maxAuthAttempts !== undefined) fields.push('maxAuthAttempts');
  return fields;
}

/** The app's stored auth settings, or null. */
export const findSettings = (prisma: PrismaClient, appId: string) =>
  prisma.appAuthSettings.findUnique({ where: { appId } });

/** The app's auth settings (an app made before they existed gets the defaults). */
export const readSettings = (prisma: PrismaClient | Prisma.TransactionClient, appId: string) =>
  prisma.appAuthSettings.upsert({ where: { appId }, create: { appId }, update: {} });

/** Applies the parts given, audited and announced with the change. */
export function saveSettings(
  appChanges: AppChanges,
  appId: string,
  principal: Principal,
  input: AuthSettingsInput,
) {
  return appChanges.change(appId, 'auth', async (tx) => {
    const current = await readSettings(tx, appId);
    const saved = await tx.appAuthSettings.update({
      where: { appId },
      data: planUpdate(current, input),
    });
    await audit(tx, {
      appId,
      principal,
      action: 'auth.updated',
      details: { fields: changedFields(input) },
    });
    return saved;
  });
}
