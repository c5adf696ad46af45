import { useEffect, useId, useRef, useState } from 'react';
import { type App, api } from '../api.ts';
import { useOrganisations } from '../orgs.tsx';
import { Link, match, navigate, useLocation } from '../router.tsx';
import { useSession } from '../session.tsx';
import { OrgSwitcher } from './org-switcher.tsx';
import { Button, useAsync } from './ui.tsx';

// The frame around every signed-in page: the top bar (logo, the account's
// links and its menu) and the sidebar (the account's apps, and the sections
// of the app that is open).

/**
 * An app's sections, in the sidebar's order; each is /apps/:id/:key (the
 * overview is /apps/:id). Data and Console (issue 18) join this list when
 * their pages exist.
 */
export const APP_SECTIONS = [
  ['overview', 'Overview'],
  ['data', 'Data'],
  ['console', 'Console'],
  ['auth', 'Auth'],
  ['users', 'Users'],
  ['permissions', 'Permissions'],
  ['usage', 'Usage'],
  ['limits', 'Limits'],
  ['audit', 'Audit'],
  ['settings', 'Settings'],
] as const;

export type AppSection = (typeof APP_SECTIONS)[number][0];

export const sectionPath = (appId: string, section: AppSection) =>
  section === 'overview' ? `/apps/${appId}` : `/apps/${appId}/${section}`;

// Pages that create, rename or delete an app say so, and the sidebar reloads
// its list (they live in other parts of the tree than the sidebar).
const appsListeners = new Set<() => void>();
export function announceAppsChanged() {
  for (const listener of appsListeners) listener();
}

/** Hubstream's mark: a hub with streams reaching it from both sides (the favicon's drawing). */
export function LogoMark({ size = 28 }: { size?: number }) {
  return (
    <svg
      width={size}
      height={size}
      viewBox="0 0 32 32"
      aria-hidden="true"
      focusable="false"
      className="logo-mark"
    >
      <rect width="32" height="32" rx="7" fill="#1d4ed8" />
      <circle cx="16" cy="16" r="4" fill="#fff" />
      <path
        d="M6 10c3 0 5 2 6.5 4M6 22c3 0 5-2 6.5-4M26 10c-3 0-5 2-6.5 4M26 22c-3 0-5-2-6.5-4"
        fill="none"
        stroke="#fff"
        strokeWidth="2.2"
        strokeLinecap="round"
      />
    </svg>
  );
}

export function TopBar() {
  const session = useSession();
  const signedIn = session.status === 'in';
  return (
    <header className="top">
      <a className="skip-link" href="#content">
        Skip to content
      </a>
      <Link to={signedIn ? '/apps' : '/login'} className="brand">
        <LogoMark />
        <span>Hubstream</span>
      </Link>
      {session.status === 'in' ? (
        <nav aria-label="Account" className="account-nav">
          <Link to="/apps" className="wide-only">
            Apps
          </Link>
          <Link to="/guides" className="wide-only">
            Guides
          </Link>
          <a href="/docs" className="wide-only">
            API reference
          </a>
          <AccountMenu email={session.account.email} />
        </nav>
      ) : (
        <nav aria-label="Help" className="account-nav">
          <Link to="/guides">Guides</Link>
          <a href="/docs">API reference</a>
        </nav>
      )}
    </header>
  );
}

/**
 * The account menu: a disclosure button and a list of links (not an ARIA
 * menu, whose arrow-key contract plain links do not need). Escape or a
 * click elsewhere closes it and Escape gives focus back to the button.
 */
function AccountMenu({ email }: { email: string }) {
  const session = useSession();
  const [open, setOpen] = useState(false);
  const id = useId();
  const root = useRef<HTMLDivElement>(null);
  const button = useRef<HTMLButtonElement>(null);
  const { path } = useLocation();
  // A route change (a link in the menu was followed) closes it.
  // biome-ignore lint/correctness/useExhaustiveDependencies: path is the trigger
  useEffect(() => setOpen(false), [path]);
  useEffect(() => {
    if (!open) return;
    const onClick = (event: MouseEvent) => {
      if (!root.current?.contains(event.target as Node)) setOpen(false);
    };
    const onKey = (event: KeyboardEvent) => {
      if (event.key !== 'Escape') return;
      setOpen(false);
      button.current?.focus();
    };
    document.addEventListener('click', onClick);
    document.addEventListener('keydown', onKey);
    return () => {
      document.removeEventListener('click', onClick);
      document.removeEventListener('keydown', onKey);
    };
  }, [open]);
  return (
    <div className="account-menu" ref={root}>
      <button
        ref={button}
        type="button"
        className="account-button"
        aria-expanded={open}
        aria-controls={id}
        onClick={() => setOpen(!open)}
      >
        <span className="avatar" aria-hidden="true">
          {email.slice(0, 1).toUpperCase()}
        </span>
        <span className="visually-hidden">Account menu for </span>
        <span className="account-email">{email}</span>
      </button>
      <div id={id} className="account-panel" hidden={!open}>
        <p className="account-panel-email">
          Signed in as <strong>{email}</strong>
        </p>
        <ul>
          <li>
            <Link to="/apps">Your apps</Link>
          </li>
          <li>
            <Link to="/team">Team</Link>
          </li>
          <li>
            <Link to="/account">Account settings</Link>
          </li>
          <li>
            <Link to="/guides">Guides</Link>
          </li>
          <li>
            <a href="/docs">API reference</a>
          </li>
          <li>
            <Button
              variant="link"
              onClick={async () => {
                await api('POST', '/logout').catch(() => undefined);
                session.signedOut();
                navigate('/login', { replace: true });
              }}
            >
              Log out
            </Button>
          </li>
        </ul>
      </div>
    </div>
  );
}

/** The account's apps, and the sections of the app open now. */
export function Sidebar() {
  const { path } = useLocation();
  const apps = useAsync(() => api<{ apps: App[] }>('GET', '/apps').then((r) => r.apps), []);
  const { reload } = apps;
  useEffect(() => {
    appsListeners.add(reload);
    return () => {
      appsListeners.delete(reload);
    };
  }, [reload]);
  const open = match('/apps/:id', path) ?? match('/apps/:id/:section', path);
  const appId = open?.id ?? null;
  const section = open?.section ?? 'overview';
  const { current: organisation } = useOrganisations();
  // The chosen organisation's apps, and the app open now wherever it lives.
  const list = (apps.status === 'ok' ? apps.data : []).filter(
    (app) => !organisation || app.organisationId === organisation.id || app.id === appId,
  );
  const current = list.find((app) => app.id === appId);
  return (
    <div className={appId ? 'sidebar' : 'sidebar no-app'}>
      <OrgSwitcher />
      <nav aria-label="Your apps" className="sidebar-apps">
        <Link
          to="/apps"
          className="sidebar-heading"
          aria-current={path === '/apps' ? 'page' : undefined}
        >
          All apps
        </Link>
        {list.length > 0 ? (
          <ul>
            {list.map((app) => (
              <li key={app.id}>
                <Link to={`/apps/${app.id}`} aria-current={app.id === appId ? 'true' : undefined}>
                  {app.name}
                </Link>
              </li>
            ))}
          </ul>
        ) : null}
      </nav>
      {appId ? (
        <nav aria-label="App sections" className="sidebar-sections">
          <p className="sidebar-heading" aria-hidden="true">
            {current?.name ?? 'This app'}
          </p>
          <ul>
            {APP_SECTIONS.map(([key, label]) => (
              <li key={key}>
                <Link
                  to={sectionPath(appId, key)}
                  aria-current={section === key ? 'page' : undefined}
                >
                  {label}
                </Link>
              </li>
            ))}
          </ul>
        </nav>
      ) : null}
    </div>
  );
}
