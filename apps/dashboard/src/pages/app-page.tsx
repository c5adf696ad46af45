import { lazy, Suspense } from 'react';
import { type ApiKey, type App, type AuthSettings, api } from '../api.ts';
import { CopyButton, ErrorMessage, Loading, PageTitle, useAsync } from '../components/ui.tsx';
import { clientSnippet } from '../lib/snippet.ts';
import { Link } from '../router.tsx';
import { ApiKeys } from './api-keys.tsx';
import { AuthTab } from './auth-tab.tsx';
import { UsageTab } from './usage-tab.tsx';
import { UsersTab } from './users-tab.tsx';

// The editor, the checker and the evaluator (CodeMirror, Valve, YAML) are most
// of the code: they load only when the permissions page opens.
const PermissionsTab = lazy(() =>
  import('./permissions-tab.tsx').then((m) => ({ default: m.PermissionsTab })),
);

const TABS = [
  ['overview', 'Overview'],
  ['auth', 'Auth'],
  ['users', 'Users'],
  ['permissions', 'Permissions'],
  ['usage', 'Usage'],
] as const;

export function AppPage({ appId, tab }: { appId: string; tab: string }) {
  const app = useAsync(() => api<App>('GET', `/apps/${encodeURIComponent(appId)}`), [appId]);
  if (app.status === 'loading') return <Loading label="Loading the app…" />;
  if (app.status === 'error')
    return (
      <main className="page">
        <ErrorMessage error={app.error} onRetry={app.reload} />
        <Link to="/apps">Back to your apps</Link>
      </main>
    );
  const known = TABS.some(([key]) => key === tab);
  return (
    <main className="page">
      <p className="breadcrumb">
        <Link to="/apps">Apps</Link> /
      </p>
      <PageTitle>{app.data.name}</PageTitle>
      <nav aria-label="App sections" className="tabs">
        {TABS.map(([key, label]) => (
          <Link
            key={key}
            to={key === 'overview' ? `/apps/${appId}` : `/apps/${appId}/${key}`}
            aria-current={tab === key ? 'page' : undefined}
          >
            {label}
          </Link>
        ))}
      </nav>
      <section className="tab-panel" aria-label={TABS.find(([k]) => k === tab)?.[1] ?? ''}>
        {tab === 'overview' ? <Overview app={app.data} /> : null}
        {tab === 'auth' ? <AuthTab appId={appId} /> : null}
        {tab === 'users' ? <UsersTab appId={appId} /> : null}
        {tab === 'permissions' ? (
          <Suspense fallback={<Loading label="Loading the editor…" />}>
            <PermissionsTab appId={appId} onSaved={app.reload} />
          </Suspense>
        ) : null}
        {tab === 'usage' ? <UsageTab appId={appId} /> : null}
        {known ? null : <p>This section does not exist.</p>}
      </section>
    </main>
  );
}

function Overview({ app }: { app: App }) {
  const auth = useAsync(() => api<AuthSettings>('GET', `/apps/${app.id}/auth`), [app.id]);
  const keys = useAsync(
    () => api<{ keys: ApiKey[] }>('GET', `/apps/${app.id}/keys`).then((r) => r.keys),
    [app.id],
  );
  const snippet = clientSnippet(app.url, auth.status === 'ok' ? auth.data : null);
  return (
    <>
      <div className="card">
        <h2>Realtime URL</h2>
        <p className="hint">
          Clients connect here. It holds the app's public id, never a secret: it is safe in browser
          code.
        </p>
        <div className="copy-row">
          <code data-testid="app-url">{app.url}</code>
          <CopyButton text={app.url} label="Copy URL" />
        </div>
      </div>
      <div className="card">
        <h2>Connect a client</h2>
        {auth.status === 'loading' ? <Loading /> : null}
        {auth.status === 'error' ? <ErrorMessage error={auth.error} onRetry={auth.reload} /> : null}
        <pre className="snippet">
          <code>{snippet}</code>
        </pre>
        <CopyButton text={snippet} label="Copy code" />
        <p className="hint">
          Permissions:{' '}
          {app.activePermissionVersion === null
            ? 'none yet, so every action is denied. Write rules on the Permissions page.'
            : `version ${app.activePermissionVersion} is active.`}
        </p>
      </div>
      <ApiKeys appId={app.id} keys={keys} />
    </>
  );
}
