// The accesses a route under /v1/apps/:id may declare, in a module of their
// own: the role table (routes/orgs/roles.ts) names them and authorizeApp
// (app-access.ts) reads the role table, so neither imports the other.

/**
 * What a route under /v1/apps/:id does to the app, declared in its route
 * options (`config: { access }`) and checked by `authorizeApp` before the
 * handler runs (plugins/app-scope.ts).
 */
export const APP_ACCESS = [
  /** Read the app, its settings, limits, rules, keys' list, audit trail and usage. */
  'app:read',
  /** Rename the app, change its auth settings and limits, test its webhook. */
  'app:write',
  /** Delete the app with everything it holds. */
  'app:delete',
  /** Check, upload and activate Valve permissions. */
  'rules:write',
  /** Create and revoke API keys. */
  'keys:manage',
  /** Read the app's end users. */
  'users:read',
  /** Create, change and delete the app's end users. */
  'users:write',
  /** Browse the app's records. */
  'data:read',
  /** Write and delete the app's records. */
  'data:write',
] as const;
export type AppAccess = (typeof APP_ACCESS)[number];

export const isAppAccess = (value: unknown): value is AppAccess =>
  typeof value === 'string' && (APP_ACCESS as readonly string[]).includes(value);
