// The control plane's HTTP API, as the dashboard uses it. The session is the
// httpOnly cookie set by signup/login with session: "cookie", so no token is
// ever visible to scripts.

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: unknown[];
  constructor(status: number, code: string, message: string, details: unknown[] = []) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

type ErrorBody = { error?: { code?: string; message?: string; details?: unknown[] } };

export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  let response: Response;
  try {
    response = await fetch(`/v1${path}`, {
      method,
      credentials: 'same-origin',
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  } catch {
    throw new ApiError(
      0,
      'NETWORK',
      'Could not reach the Hubstream server. Check your connection.',
    );
  }
  const text = await response.text();
  let parsed: unknown = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    parsed = null;
  }
  if (!response.ok) {
    const error = (parsed as ErrorBody | null)?.error;
    throw new ApiError(
      response.status,
      error?.code ?? 'HTTP_ERROR',
      error?.message ?? `The server answered ${response.status}.`,
      error?.details ?? [],
    );
  }
  return parsed as T;
}

export const errorMessage = (error: unknown) =>
  error instanceof Error ? error.message : 'Something went wrong.';

export type Account = { id: string; email: string; emailVerified: boolean; createdAt: string };

export type App = {
  id: string;
  name: string;
  /** The organisation that owns the app (GET /v1/orgs lists the caller's, with its role). */
  organisationId: string;
  url: string;
  activePermissionVersion: number | null;
  /** The starter template the active permissions came from, if any. */
  activePermissionTemplate: TemplateName | null;
  createdAt: string;
  updatedAt: string;
};

export type TemplateName = 'development' | 'signed-in' | 'locked';

/** The self-signed local CA the servers use, if any (GET /v1/local-ca). */
export type LocalCa = {
  selfSigned: boolean;
  caUrl: string | null;
  caFile: string | null;
  fingerprint256: string | null;
};

export type ApiKey = {
  id: string;
  name: string;
  prefix: string;
  /** 'users': manage the app's users; 'data': the realtime HTTP data API. */
  scopes: ('users' | 'data')[];
  userId: string | null;
  serverData: Record<string, unknown> | null;
  /** The user id of the key's data API requests (null without the data scope). */
  dataUserId: string | null;
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
};

export type Strategy = 'open' | 'email' | 'webhook';

export type WebhookSettings = {
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
};

export type AuthSettings = {
  order: Strategy[];
  open: { enabled: boolean };
  email: { enabled: boolean };
  webhook: WebhookSettings;
  unauthenticatedTimeoutMs: number;
  maxAuthAttempts: number;
  updatedAt: string;
};

export type WebhookTestResult = {
  verdict: 'allowed' | 'denied';
  id: string | null;
  clientData: unknown;
  serverData: unknown;
  durationMs: number;
  /** The request exactly as sent (retries send the same). */
  request: { method: string; url: string; headers: Record<string, string>; body: string } | null;
};

export type AppUser = {
  id: string;
  email: string;
  clientData: Record<string, unknown>;
  serverData: Record<string, unknown>;
  createdAt: string;
  updatedAt: string;
};

export type UserList = { users: AppUser[]; total: number; limit: number; offset: number };

export type VersionSummary = {
  version: number;
  format: string;
  author: string;
  template: string | null;
  createdAt: string;
  active: boolean;
};

export type Version = VersionSummary & { valve: string };

export type UsageSample = {
  minute: string;
  peakConnections: number;
  messagesIn: number;
  messagesOut: number;
  denied: number;
  rateLimited: number;
};

export type Usage = { from: string; to: string; samples: UsageSample[] };

export type LimitName =
  | 'maxConnections'
  | 'maxMessagesPerSecond'
  | 'connectionMessagesPerSecond'
  | 'maxCrossReferencesPerSecond'
  | 'maxNamesPerMessage'
  | 'maxSubscriptionsPerConnection'
  | 'maxListensPerConnection'
  | 'maxProvidesPerConnection'
  | 'maxPendingRpcsPerConnection';

/** GET /apps/:id/limits: the app's own values (null: the default), and what is in force. */
export type Limits = Record<LimitName, number | null> & {
  effective: Record<LimitName, number>;
  defaults: Record<LimitName, number>;
  maxima: Record<LimitName, number>;
  updatedAt: string | null;
};

export type AuditEvent = {
  id: string;
  actor: string;
  action: string;
  target: string | null;
  details: Record<string, unknown>;
  createdAt: string;
};

export type AuditPage = { events: AuditEvent[]; next: string | null };
