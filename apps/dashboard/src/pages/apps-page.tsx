import { type FormEvent, useState } from 'react';
import { type App, api, type TemplateName } from '../api.ts';
import { announceAppsChanged } from '../components/layout.tsx';
import { OrgSwitcher } from '../components/org-switcher.tsx';
import {
  Button,
  ConfirmDialog,
  Empty,
  ErrorMessage,
  Field,
  formatDate,
  Loading,
  PageTitle,
  useAction,
  useAsync,
} from '../components/ui.tsx';
import { permissionsOf, useOrganisations } from '../orgs.tsx';
import './team.css';
import { Link, navigate } from '../router.tsx';

/** The starter rules a new app may begin with (the API's `template`). */
export const STARTER_RULES: { value: TemplateName | 'none'; title: string; description: string }[] =
  [
    {
      value: 'none',
      title: 'No rules yet',
      description: 'Everything is denied until you write rules.',
    },
    {
      value: 'development',
      title: 'Development',
      description: 'Everything allowed for everyone. For trying things out, never for real users.',
    },
    {
      value: 'signed-in',
      title: 'Signed-in users',
      description:
        'Only users who logged in with email or a webhook; each owns the records under users/<their id>/.',
    },
    { value: 'locked', title: 'Locked', description: 'Every action denied.' },
  ];

export function AppsPage() {
  const apps = useAsync(() => api<{ apps: App[] }>('GET', '/apps').then((r) => r.apps), []);
  const { current: organisation, table } = useOrganisations();
  const may = permissionsOf(
    table,
    organisation?.role ?? null,
    organisation ? `"${organisation.name}"` : undefined,
  );
  const shown =
    apps.status === 'ok'
      ? apps.data.filter((app) => !organisation || app.organisationId === organisation.id)
      : [];
  const [name, setName] = useState('');
  const [template, setTemplate] = useState<TemplateName | 'none'>('none');
  const {
    busy: creating,
    error: createError,
    run: runCreate,
    setError: setCreateError,
  } = useAction();
  const [deleting, setDeleting] = useState<App | null>(null);
  const {
    busy: deleteBusy,
    error: deleteError,
    run: runDelete,
    setError: setDeleteError,
  } = useAction();

  const create = async (event: FormEvent) => {
    event.preventDefault();
    if (!name.trim()) {
      setCreateError(new Error('Give the app a name.'));
      return;
    }
    await runCreate(async () => {
      const app = await api<App>('POST', '/apps', {
        name: name.trim(),
        ...(organisation ? { organisationId: organisation.id } : {}),
        ...(template === 'none' ? {} : { template }),
      });
      announceAppsChanged();
      navigate(`/apps/${app.id}`);
    });
  };

  const remove = async () => {
    if (!deleting) return;
    await runDelete(async () => {
      await api('DELETE', `/apps/${deleting.id}`);
      setDeleting(null);
      apps.reload();
      announceAppsChanged();
    });
  };

  return (
    <main className="page">
      <PageTitle>Your apps</PageTitle>
      <div className="org-switcher-inline">
        <OrgSwitcher />
      </div>
      {organisation ? (
        <p className="hint">
          The apps of <strong>{organisation.name}</strong>
          {organisation.personal ? ' (your own organisation)' : ''}, where you are{' '}
          {organisation.role === 'admin' ? 'an admin' : `a ${organisation.role}`}. Switch
          organisations with the Organisation menu.
        </p>
      ) : null}
      {may.can('apps:create') ? null : (
        <p className="hint" id="create-app-why">
          {may.explain('apps:create')}
        </p>
      )}
      <form className="card create-app" onSubmit={create} noValidate aria-label="Create an app">
        <div className="inline-form">
          <Field
            label="New app name"
            value={name}
            maxLength={100}
            onChange={(e) => setName(e.target.value)}
            placeholder="My chat app"
          />
          <Button
            type="submit"
            variant="primary"
            busy={creating}
            disabled={!may.can('apps:create')}
            aria-describedby={may.can('apps:create') ? undefined : 'create-app-why'}
          >
            Create app
          </Button>
        </div>
        <fieldset className="starter-rules">
          <legend>Starting rules</legend>
          {STARTER_RULES.map((option) => (
            <label key={option.value} className="starter-rule">
              <input
                type="radio"
                name="template"
                value={option.value}
                checked={template === option.value}
                onChange={() => setTemplate(option.value)}
              />
              <span>
                <strong>{option.title}</strong>
                <span className="hint"> {option.description}</span>
              </span>
            </label>
          ))}
        </fieldset>
      </form>
      <ErrorMessage error={createError} />
      {apps.status === 'loading' ? <Loading label="Loading your apps…" /> : null}
      {apps.status === 'error' ? <ErrorMessage error={apps.error} onRetry={apps.reload} /> : null}
      {apps.status === 'ok' && shown.length === 0 ? (
        <Empty title="No apps yet">
          <p>Create your first app above: it gets its own realtime URL, users and permissions.</p>
        </Empty>
      ) : null}
      {apps.status === 'ok' && shown.length > 0 ? (
        <ul className="app-list">
          {shown.map((app) => (
            <AppRow
              key={app.id}
              app={app}
              mayRename={may.can('app:write')}
              mayDelete={may.can('app:delete')}
              why={may.explain('app:delete')}
              onRenamed={(renamed) =>
                apps.set(apps.data.map((a) => (a.id === renamed.id ? renamed : a)))
              }
              onDelete={() => {
                setDeleteError(null);
                setDeleting(app);
              }}
            />
          ))}
        </ul>
      ) : null}
      <ConfirmDialog
        open={deleting !== null}
        title={`Delete ${deleting?.name ?? 'the app'}?`}
        confirmLabel="Delete the app"
        busy={deleteBusy}
        error={deleteError}
        onConfirm={remove}
        onCancel={() => setDeleting(null)}
      >
        <p>
          Its users, API keys, permissions, records and usage are deleted for good, and connected
          clients are disconnected. This cannot be undone.
        </p>
      </ConfirmDialog>
    </main>
  );
}

function AppRow({
  app,
  mayRename,
  mayDelete,
  why,
  onRenamed,
  onDelete,
}: {
  app: App;
  mayRename: boolean;
  mayDelete: boolean;
  /** Why this role may not delete apps. */
  why: string;
  onRenamed(app: App): void;
  onDelete(): void;
}) {
  const [editing, setEditing] = useState(false);
  const [name, setName] = useState(app.name);
  const { busy, error, run } = useAction();
  const save = async (event: FormEvent) => {
    event.preventDefault();
    await run(async () => {
      onRenamed(await api<App>('PATCH', `/apps/${app.id}`, { name: name.trim() }));
      announceAppsChanged();
      setEditing(false);
    });
  };
  return (
    <li className="card app-row">
      {editing ? (
        <form className="rename-form" onSubmit={save} noValidate>
          <div className="inline-form">
            <Field
              label={`New name for ${app.name}`}
              value={name}
              maxLength={100}
              autoFocus
              onChange={(e) => setName(e.target.value)}
            />
            {/* Save and Cancel stay side by side, never split over two lines. */}
            <div className="actions nowrap">
              <Button type="submit" variant="primary" busy={busy}>
                Save
              </Button>
              <Button
                onClick={() => {
                  setEditing(false);
                  setName(app.name);
                }}
              >
                Cancel
              </Button>
            </div>
          </div>
          <ErrorMessage error={error} />
        </form>
      ) : (
        <>
          <div>
            <h2 className="app-name">
              <Link to={`/apps/${app.id}`}>{app.name}</Link>{' '}
              {app.activePermissionTemplate === 'development' ? (
                <span className="badge badge-warning">development rules: everything allowed</span>
              ) : null}
            </h2>
            <p className="muted">
              <code>{app.url}</code> · created {formatDate(app.createdAt)}
            </p>
          </div>
          <div className="actions">
            <Button
              onClick={() => setEditing(true)}
              aria-label={`Rename ${app.name}`}
              disabled={!mayRename}
            >
              Rename
            </Button>
            <Button
              variant="danger"
              onClick={onDelete}
              aria-label={`Delete ${app.name}`}
              disabled={!mayDelete}
              title={mayDelete ? undefined : why}
            >
              Delete
            </Button>
          </div>
        </>
      )}
    </li>
  );
}
