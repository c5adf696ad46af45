import { LIMIT_MAXIMA } from '../routes/limits/schemas.ts';

// The sample values the API reference's examples are made of (api-docs.ts):
// one account, app, key, app user, permissions version, auth settings and
// limits, consistent across every route that shows them.

export const APP_ID = 'k3j2h1g9f8d7';
export const WHEN = '2026-12-06T10:00:00.000Z';
export const ACCOUNT = {
  id: '019ae3c2-7f1b-7c4e-9a52-3d6f0e1b2a47',
  email: 'ada@example.com',
  emailVerified: true,
  createdAt: WHEN,
};
export const APP = {
  id: APP_ID,
  organisationId: '019ae3c2-6e0a-7b3d-8c41-2e5f9d0a1b36',
  name: 'Chat',
  url: `wss://realtime.example.com/${APP_ID}`,
  activePermissionVersion: 1,
  activePermissionTemplate: 'signed-in',
  createdAt: WHEN,
  updatedAt: WHEN,
};
export const KEY = {
  id: '019ae3c2-9d40-7a11-8c3e-5b2f4a6d7e80',
  name: 'Backend',
  prefix: 'hsk_a1b2c3d4',
  scopes: ['users', 'data'],
  userId: null,
  serverData: { role: 'backend' },
  dataUserId: 'api-key:Backend',
  createdAt: WHEN,
  lastUsedAt: null,
  revokedAt: null,
};
export const APP_USER = {
  id: '019ae3c3-0a2b-7d5e-b1f4-6c7d8e9fa0b1',
  email: 'user@example.com',
  clientData: { name: 'Grace' },
  serverData: { role: 'editor' },
  createdAt: WHEN,
  updatedAt: WHEN,
};
export const VERSION = {
  version: 1,
  format: 'yaml',
  author: 'ada@example.com',
  template: 'signed-in',
  createdAt: WHEN,
  active: true,
};

export const AUTH_SETTINGS = {
  order: ['email', 'webhook', 'open'],
  open: { enabled: false },
  email: { enabled: true },
  webhook: {
    enabled: true,
    url: 'https://auth.example.com/hubstream',
    promoteToHeader: ['token'],
    headers: { 'x-tenant': 'acme' },
    timeoutMs: 5000,
    permittedStatusCodes: [200],
    retryStatusCodes: [502, 503, 504],
    retryAttempts: 2,
    retryIntervalMs: 500,
    signingSecret: 'whsec_3q2P7wLk9xTz4VbN',
  },
  unauthenticatedTimeoutMs: 180000,
  maxAuthAttempts: 3,
  updatedAt: WHEN,
};
export const LIMITS = {
  maxConnections: 500,
  maxMessagesPerSecond: null,
  connectionMessagesPerSecond: null,
  maxCrossReferencesPerSecond: null,
  maxNamesPerMessage: null,
  maxSubscriptionsPerConnection: null,
  maxListensPerConnection: null,
  maxProvidesPerConnection: null,
  maxPendingRpcsPerConnection: null,
  effective: {
    maxConnections: 500,
    maxMessagesPerSecond: 1000,
    connectionMessagesPerSecond: 100,
    maxCrossReferencesPerSecond: 1000,
    maxNamesPerMessage: 100,
    maxSubscriptionsPerConnection: 10000,
    maxListensPerConnection: 100,
    maxProvidesPerConnection: 100,
    maxPendingRpcsPerConnection: 100,
  },
  defaults: {
    maxConnections: 10000,
    maxMessagesPerSecond: 1000,
    connectionMessagesPerSecond: 100,
    maxCrossReferencesPerSecond: 1000,
    maxNamesPerMessage: 100,
    maxSubscriptionsPerConnection: 10000,
    maxListensPerConnection: 100,
    maxProvidesPerConnection: 100,
    maxPendingRpcsPerConnection: 100,
  },
  maxima: { ...LIMIT_MAXIMA },
  updatedAt: WHEN,
};
