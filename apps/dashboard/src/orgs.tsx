import { useEffect, useState, useSyncExternalStore } from 'react';
import { api } from './api.ts';
import { useSession } from './session.tsx';

// The account's organisations, the one the dashboard is showing (chosen in
// the sidebar's switcher, remembered in this browser), and the role table
// (GET /v1/roles) that decides which buttons a role may use. One store for
// the whole tree, loaded once and again when a page changes memberships.

export type Role = 'owner' | 'admin' | 'developer' | 'viewer';

export type Organisation = {
  id: string;
  name: string;
  personal: boolean;
  role: Role;
  memberCount?: number;
  createdAt: string;
};

export type RoleTableRow = {
  action: string;
  label: string;
  minimum: Role;
  allowed: Record<Role, boolean>;
};

export type RoleTable = { roles: Role[]; actions: RoleTableRow[] };

type State = {
  status: 'idle' | 'loading' | 'ok' | 'error';
  organisations: Organisation[];
  table: RoleTable | null;
  currentId: string | null;
  error: unknown;
  /** Whose organisations these are: another account signing in loads its own. */
  accountId: string | null;
};

const STORAGE_KEY = 'hubstream.organisation';
const stored = () => {
  try {
    return window.localStorage.getItem(STORAGE_KEY);
  } catch {
    return null;
  }
};

let state: State = {
  status: 'idle',
  organisations: [],
  table: null,
  currentId: null,
  error: null,
  accountId: null,
};
const listeners = new Set<() => void>();
const set = (next: Partial<State>) => {
  state = { ...state, ...next };
  for (const listener of listeners) listener();
};

/** (Re)loads the organisations and, the first time, the role table. */
export async function refreshOrganisations(accountId: string | null = state.accountId) {
  if (state.status === 'idle') set({ status: 'loading', accountId });
  try {
    const [{ organisations }, table] = await Promise.all([
      api<{ organisations: Organisation[] }>('GET', '/orgs'),
      state.table ? Promise.resolve(state.table) : api<RoleTable>('GET', '/roles'),
    ]);
    const wanted = state.currentId ?? stored();
    const current =
      organisations.find((o) => o.id === wanted) ??
      organisations.find((o) => o.personal) ??
      organisations[0];
    set({ status: 'ok', organisations, table, currentId: current?.id ?? null, error: null });
  } catch (error) {
    set({ status: 'error', error });
  }
}

export function selectOrganisation(id: string) {
  try {
    window.localStorage.setItem(STORAGE_KEY, id);
  } catch {}
  set({ currentId: id });
}

/** Forgets everything (on log-out). */
export function clearOrganisations() {
  set({ status: 'idle', organisations: [], currentId: null, error: null, accountId: null });
}

function subscribe(listener: () => void) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export function useOrganisations() {
  const snapshot = useSyncExternalStore(subscribe, () => state);
  const session = useSession();
  const accountId = session.status === 'in' ? session.account.id : null;
  useEffect(() => {
    if (accountId === null) return;
    if (state.accountId !== accountId) clearOrganisations();
    if (state.status === 'idle') void refreshOrganisations(accountId);
  }, [accountId]);
  const current = snapshot.organisations.find((o) => o.id === snapshot.currentId) ?? null;
  return { ...snapshot, current };
}

const roleName = (role: Role) => (role === 'admin' ? 'an admin' : `a ${role}`);

/** What `role` may do by the role table; `explain` says why not when it may not. */
export function permissionsOf(table: RoleTable | null, role: Role | null, organisation?: string) {
  const row = (action: string) => table?.actions.find((a) => a.action === action);
  return {
    role,
    /** Unknown (still loading) counts as allowed: the server decides anyway. */
    can: (action: string) => {
      const found = row(action);
      return !found || role === null ? true : found.allowed[role];
    },
    explain: (action: string) => {
      const found = row(action);
      if (!found || role === null) return '';
      const who = found.minimum === 'owner' ? 'the owner' : `${found.minimum}s and above`;
      return `You are ${roleName(role)} of ${organisation ?? 'this organisation'}: ${found.label.charAt(0).toLowerCase()}${found.label.slice(1)} is for ${who}.`;
    },
  };
}

/** The caller's permissions in organisation `organisationId` (an app's, say). */
export function useOrgPermissions(organisationId: string | null | undefined) {
  const { organisations, table } = useOrganisations();
  const organisation = organisations.find((o) => o.id === organisationId);
  return permissionsOf(
    table,
    organisation?.role ?? null,
    organisation ? `"${organisation.name}"` : undefined,
  );
}

const appOrganisation = new Map<string, Promise<string>>();

/** The caller's permissions on app `appId`: its organisation's role table row. */
export function useAppPermissions(appId: string) {
  const [organisationId, setOrganisationId] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    let found = appOrganisation.get(appId);
    if (!found) {
      found = api<{ organisationId: string }>('GET', `/apps/${encodeURIComponent(appId)}`).then(
        (app) => app.organisationId,
      );
      appOrganisation.set(appId, found);
      found.catch(() => appOrganisation.delete(appId));
    }
    found.then(
      (id) => live && setOrganisationId(id),
      () => undefined,
    );
    return () => {
      live = false;
    };
  }, [appId]);
  const permissions = useOrgPermissions(organisationId);
  return { ...permissions, known: permissions.role !== null };
}
