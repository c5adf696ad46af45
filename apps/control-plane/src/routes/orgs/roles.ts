import type { AppAccess } from '../../plugins/app-accesses.ts';

// Who may do what in an organisation: THE role table. Every check (the app
// routes' authorizeApp, the organisation routes) reads it, GET /v1/roles
// serves it to the dashboard, and docs/teams.md holds it as Markdown (a test
// fails when the guide and this table differ).

/** From most to least powerful. */
export const ROLES = ['owner', 'admin', 'developer', 'viewer'] as const;
export type Role = (typeof ROLES)[number];

const RANK: Record<Role, number> = { owner: 3, admin: 2, developer: 1, viewer: 0 };

export const isRole = (value: unknown): value is Role =>
  typeof value === 'string' && (ROLES as readonly string[]).includes(value);

/** What the organisation routes do, beside the app routes' accesses. */
export type OrgAction =
  | 'org:read'
  | 'apps:create'
  | 'members:manage'
  | 'org:rename'
  | 'ownership:transfer';

export type Action = AppAccess | OrgAction;

type Row = { minimum: Role; label: string };

/**
 * Each action and the least role that may do it; every role above may too.
 * An app route declares its access (plugins/app-access.ts), so a new access
 * without a row here does not compile.
 */
export const ROLE_TABLE = {
  'app:read': {
    minimum: 'viewer',
    label:
      "See the organisation's apps: settings, limits, rules and their history, API keys (not their secrets), usage and audit log",
  },
  'users:read': { minimum: 'viewer', label: "List an app's end users" },
  'data:read': { minimum: 'viewer', label: "Browse an app's records" },
  'org:read': {
    minimum: 'viewer',
    label: 'See the members, their roles and the pending invitations',
  },
  'rules:write': {
    minimum: 'developer',
    label: 'Check, publish and roll back permissions (Valve rules)',
  },
  'app:write': {
    minimum: 'developer',
    label: 'Rename an app, change its auth settings and limits, test its webhook',
  },
  'users:write': { minimum: 'developer', label: "Add, change and delete an app's end users" },
  'data:write': { minimum: 'developer', label: "Write and delete an app's records" },
  'apps:create': { minimum: 'developer', label: 'Create apps in the organisation' },
  'keys:manage': { minimum: 'admin', label: 'Create and revoke API keys' },
  'app:delete': { minimum: 'admin', label: 'Delete an app with everything it holds' },
  'members:manage': {
    minimum: 'admin',
    label:
      'Invite members, revoke invitations, change roles (up to admin) and remove members (not the owner)',
  },
  'org:rename': { minimum: 'admin', label: 'Rename the organisation' },
  'ownership:transfer': {
    minimum: 'owner',
    label: 'Hand the organisation to another member (the owner becomes an admin)',
  },
} as const satisfies Record<Action, Row>;

export const ACTIONS = Object.keys(ROLE_TABLE) as Action[];

/** Whether `role` may do `action`. */
export const allows = (role: Role, action: Action): boolean =>
  RANK[role] >= RANK[ROLE_TABLE[action].minimum];

export const atLeast = (role: Role, minimum: Role): boolean => RANK[role] >= RANK[minimum];

/** The table as GET /v1/roles sends it. */
export function roleTableView() {
  return {
    roles: [...ROLES],
    actions: ACTIONS.map((action) => ({
      action,
      label: ROLE_TABLE[action].label,
      minimum: ROLE_TABLE[action].minimum,
      allowed: Object.fromEntries(ROLES.map((role) => [role, allows(role, action)])) as Record<
        Role,
        boolean
      >,
    })),
  };
}

/** The table as docs/teams.md shows it. */
export function roleTableMarkdown(): string {
  const head = `| What | ${ROLES.join(' | ')} |`;
  const rule = `| --- | ${ROLES.map(() => ':-:').join(' | ')} |`;
  const rows = ACTIONS.map(
    (action) =>
      `| ${ROLE_TABLE[action].label} (\`${action}\`) | ${ROLES.map((role) => (allows(role, action) ? 'yes' : '—')).join(' | ')} |`,
  );
  return [head, rule, ...rows].join('\n');
}
