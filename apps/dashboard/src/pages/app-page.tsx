import { lazy, Suspense, useEffect, useRef, useState } from 'react';
import { type ApiKey, type App, type AuthSettings, api, type LocalCa } from '../api.ts';
import { APP_SECTIONS, sectionPath } from '../components/layout.tsx';
import {
  CodeBlock,
  CopyButton,
  ErrorMessage,
  Loading,
  PageTitle,
  useAsync,
} from '../components/ui.tsx';
import { dataApiCurl, dataApiUrl } from '../lib/api-keys.ts';
import { clientSnippets, type RulesKind, type Snippets } from '../lib/snippet.ts';
import { Link } from '../router.tsx';
import { ApiKeys } from './api-keys.tsx';
import { AuditTab } from './audit-tab.tsx';
import { AuthTab } from './auth-tab.tsx';
import { ConsoleTab } from './console-tab.tsx';
import { DataTab } from './data-tab.tsx';
import { LimitsTab } from './limits-tab.tsx';
import { SettingsTab } from './settings-tab.tsx';
import { UsageTab } from './usage-tab.tsx';
import { UsersTab } from './users-tab.tsx';

// The editor, the checker and the evaluator (CodeMirror, Valve, YAML) are most
// of the code: they load only when the permissions page opens.
const PermissionsTab = lazy(() =>
  import('./permissions-tab.tsx').then((m) => ({ default: m.PermissionsTab })),
);

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
  // The app's sections are in the sidebar (components/layout.tsx).
  const section = APP_SECTIONS.find(([key]) => key === tab);
  return (
    <main className="page">
      <nav aria-label="Breadcrumb" className="breadcrumb">
        <ol>
          <li>
            <Link to="/apps">Apps</Link>
          </li>
          <li>
            <Link
              to={sectionPath(appId, 'overview')}
              aria-current={tab === 'overview' ? 'page' : undefined}
            >
              {app.data.name}
            </Link>
          </li>
          {section && tab !== 'overview' ? <li aria-current="page">{section[1]}</li> : null}
        </ol>
      </nav>
      <PageTitle>{app.data.name}</PageTitle>
      {app.data.activePermissionTemplate === 'development' ? (
        <section className="warning-banner" aria-label="Development rules warning">
          <strong>Development rules are active:</strong> anyone who knows this app's URL may read,
          change and delete every record, and send every event. Replace them on the{' '}
          <Link to={`/apps/${appId}/permissions`}>Permissions page</Link> before real users arrive.
        </section>
      ) : null}
      <section className="tab-panel" aria-label={section?.[1] ?? 'Not found'}>
        {section && tab !== 'overview' ? <SectionTitle>{section[1]}</SectionTitle> : null}
        {tab === 'overview' ? <Overview app={app.data} /> : null}
        {tab === 'data' ? <DataTab appId={appId} /> : null}
        {tab === 'console' ? <ConsoleTab appId={appId} /> : null}
        {tab === 'auth' ? <AuthTab appId={appId} /> : null}
        {tab === 'users' ? <UsersTab appId={appId} /> : null}
        {tab === 'permissions' ? (
          <Suspense fallback={<Loading label="Loading the editor…" />}>
            <PermissionsTab appId={appId} onSaved={app.reload} />
          </Suspense>
        ) : null}
        {tab === 'usage' ? <UsageTab appId={appId} /> : null}
        {tab === 'limits' ? <LimitsTab appId={appId} /> : null}
        {tab === 'audit' ? <AuditTab appId={appId} /> : null}
        {tab === 'settings' ? <SettingsTab app={app.data} onChanged={app.reload} /> : null}
        {section ? null : <p>This section does not exist.</p>}
      </section>
    </main>
  );
}

/**
 * A section's heading. Moving between sections keeps the page (and its h1,
 * which took focus when the app opened), so the new section's heading takes
 * focus instead and screen readers announce it.
 */
function SectionTitle({ children }: { children: string }) {
  const ref = useRef<HTMLHeadingElement>(null);
  // biome-ignore lint/correctness/useExhaustiveDependencies: a new section is the trigger
  useEffect(() => {
    // Not while the page's h1 has just taken focus for a freshly opened app.
    if (document.activeElement?.tagName !== 'H1') ref.current?.focus();
  }, [children]);
  return (
    <h2 ref={ref} tabIndex={-1} className="section-title">
      {children}
    </h2>
  );
}

export const rulesKind = (app: App): RulesKind =>
  app.activePermissionVersion === null ? 'none' : (app.activePermissionTemplate ?? 'custom');

const SNIPPET_TABS: [keyof Snippets, string][] = [
  ['node', 'Node.js'],
  ['browser', 'Browser (script tag)'],
  ['bundler', 'Bundler (import)'],
  ['v2', 'deepstream.io-client-js 2.x'],
];

function Overview({ app }: { app: App }) {
  const auth = useAsync(() => api<AuthSettings>('GET', `/apps/${app.id}/auth`), [app.id]);
  const keys = useAsync(
    () => api<{ keys: ApiKey[] }>('GET', `/apps/${app.id}/keys`).then((r) => r.keys),
    [app.id],
  );
  const localCa = useAsync(() => api<LocalCa>('GET', '/local-ca'), []);
  const ca = localCa.status === 'ok' && localCa.data.selfSigned ? localCa.data : null;
  const [shown, setShown] = useState<keyof Snippets>('node');
  const snippets = clientSnippets({
    url: app.url,
    auth: auth.status === 'ok' ? auth.data : null,
    rules: rulesKind(app),
    caFile: ca?.caFile ?? null,
    caUrl: ca?.caUrl ? `${window.location.origin}${ca.caUrl}` : null,
    bundleUrl: `${window.location.origin}/sdk/deepstream-client.min.js`,
  });
  const snippet = snippets[shown];
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
        <p className="hint">
          Logs in, sends an event and writes a record, for this app's auth settings and rules as
          they are now.
        </p>
        {auth.status === 'loading' ? <Loading /> : null}
        {auth.status === 'error' ? <ErrorMessage error={auth.error} onRetry={auth.reload} /> : null}
        <div role="tablist" aria-label="Client code for" className="snippet-tabs">
          {SNIPPET_TABS.map(([key, label]) => (
            <button
              key={key}
              type="button"
              role="tab"
              id={`snippet-tab-${key}`}
              aria-selected={shown === key}
              aria-controls="snippet-panel"
              onClick={() => setShown(key)}
            >
              {label}
            </button>
          ))}
        </div>
        <div role="tabpanel" id="snippet-panel" aria-labelledby={`snippet-tab-${shown}`}>
          <CodeBlock className="snippet" data-testid={`snippet-${shown}`}>
            <code>{snippet}</code>
          </CodeBlock>
          <CopyButton text={snippet} label="Copy code" />
        </div>
        <p className="hint">
          Permissions:{' '}
          {app.activePermissionVersion === null
            ? 'none yet, so every action is denied. Write rules on the Permissions page.'
            : `version ${app.activePermissionVersion} is active${
                app.activePermissionTemplate
                  ? ` (the ${app.activePermissionTemplate} template)`
                  : ''
              }.`}{' '}
          Manage the app from your own code with an API key and the{' '}
          <a href="/docs">HTTP API reference</a>.
        </p>
      </div>
      <DataApiCard app={app} caFile={ca ? (ca.caFile ?? 'ca.pem') : null} />
      {ca ? <LocalCaCard ca={ca} /> : null}
      <ApiKeys appId={app.id} keys={keys} />
    </>
  );
}

/** The realtime nodes' HTTP data API, for backends without a WebSocket: a curl example. */
function DataApiCard({ app, caFile }: { app: App; caFile: string | null }) {
  const command = dataApiCurl({ url: app.url, caFile });
  return (
    <section className="card" aria-labelledby="data-api-title">
      <h2 id="data-api-title">HTTP data API</h2>
      <p className="hint">
        Backends, serverless functions and devices without a WebSocket can emit events, read and
        write records, make RPCs and query presence with a <code>POST</code> to{' '}
        <code data-testid="data-api-url">{dataApiUrl(app.url)}</code>, in deepstream's JSON format.
        With an API key that has the Data API scope, requests act as the key's user id (shown in the
        keys table), and this app's rules apply to each command.
      </p>
      <CodeBlock className="command-block" data-testid="data-api-curl">
        <code>{command}</code>
      </CodeBlock>
      <CopyButton text={command} label="Copy command" />
      <p className="hint">
        The reply has one result per command, in order: check <code>result</code>. Every command and
        error is in the <a href="/docs">API reference</a> (data API).
      </p>
    </section>
  );
}

/** How to trust the local CA that `pnpm start` made, so that wss:// and https:// work. */
function LocalCaCard({ ca }: { ca: LocalCa }) {
  const file = ca.caFile ?? 'ca.pem';
  const quoted = /^[\w@%+=:,./-]+$/.test(file) ? file : `'${file.replace(/'/g, "'\\''")}'`;
  const downloadUrl = `${window.location.origin}${ca.caUrl ?? ''}`;
  const commands: [string, string][] = [
    ['Node.js clients', `NODE_EXTRA_CA_CERTS=${quoted} node hello.mjs`],
    [
      'Linux (Debian, Ubuntu): the system store',
      `sudo cp ${quoted} /usr/local/share/ca-certificates/hubstream-local-ca.crt && sudo update-ca-certificates`,
    ],
    [
      'Chrome and Chromium on Linux',
      `certutil -d sql:$HOME/.pki/nssdb -A -t "C,," -n "Hubstream local CA" -i ${quoted}`,
    ],
    [
      'macOS (Safari, Chrome)',
      `sudo security add-trusted-cert -d -r trustRoot -k /Library/Keychains/System.keychain ${quoted}`,
    ],
    [
      'Windows (Edge, Chrome), as administrator',
      'certutil -addstore -f ROOT hubstream-local-ca.pem',
    ],
  ];
  return (
    <section className="card" aria-labelledby="local-ca-title" data-testid="local-ca">
      <h2 id="local-ca-title">Trust the local certificate authority</h2>
      <p>
        This Hubstream runs on a certificate from its own local CA, made on its first start. Until
        your browser, OS or Node trusts that CA, <code>wss://</code> connections fail with{' '}
        <code>unable to verify the first certificate</code> (Node) or{' '}
        <code>ERR_CERT_AUTHORITY_INVALID</code> (browsers). The Node.js code above already passes
        the CA itself.
      </p>
      <p className="copy-row">
        <a href={ca.caUrl ?? '#'} download="hubstream-local-ca.pem">
          Download ca.pem
        </a>
        <span className="hint">
          or use the file on this machine: <code data-testid="ca-file">{file}</code>
        </span>
      </p>
      {ca.fingerprint256 ? (
        <p className="hint">
          SHA-256 fingerprint: <code className="small">{ca.fingerprint256}</code>
        </p>
      ) : null}
      <dl className="commands">
        {commands.map(([label, command]) => (
          <div key={label}>
            <dt>{label}</dt>
            <dd className="copy-row">
              <code>{command}</code>
              <CopyButton text={command} label="Copy" />
            </dd>
          </div>
        ))}
      </dl>
      <p className="hint">
        Firefox keeps its own store: Settings › Privacy &amp; Security › Certificates › View
        Certificates › Authorities › Import, then tick “Trust this CA to identify websites”. On
        another machine, download ca.pem from <code>{downloadUrl}</code> first. Restart the browser
        after trusting the CA.
      </p>
    </section>
  );
}
