import { type FormEvent, useState } from 'react';
import { type App, api } from '../api.ts';
import { announceAppsChanged } from '../components/layout.tsx';
import {
  Button,
  ConfirmDialog,
  ErrorMessage,
  Field,
  formatDate,
  Notice,
  useAction,
} from '../components/ui.tsx';
import { navigate } from '../router.tsx';

// The app's own settings: its name, its id, and deleting it.

export function SettingsTab({ app, onChanged }: { app: App; onChanged(): void }) {
  const [name, setName] = useState(app.name);
  const [notice, setNotice] = useState<string | null>(null);
  const [fieldError, setFieldError] = useState<string | undefined>();
  const rename = useAction();
  const [confirming, setConfirming] = useState(false);
  const remove = useAction();

  const save = async (event: FormEvent) => {
    event.preventDefault();
    setNotice(null);
    if (!name.trim()) {
      setFieldError('Give the app a name.');
      return;
    }
    setFieldError(undefined);
    await rename.run(async () => {
      const renamed = await api<App>('PATCH', `/apps/${app.id}`, { name: name.trim() });
      setNotice(`Renamed to ${renamed.name}.`);
      announceAppsChanged();
      onChanged();
    });
  };

  return (
    <div className="stack">
      <form className="card" onSubmit={save} noValidate aria-labelledby="app-name-title">
        <h2 id="app-name-title">Name</h2>
        {notice ? <Notice>{notice}</Notice> : null}
        <div className="inline-form">
          <Field
            label="App name"
            value={name}
            maxLength={100}
            onChange={(e) => setName(e.target.value)}
            error={fieldError}
          />
          <div className="actions">
            <Button type="submit" variant="primary" busy={rename.busy}>
              Rename
            </Button>
          </div>
        </div>
        <ErrorMessage error={rename.error} />
      </form>
      <section className="card" aria-labelledby="app-id-title">
        <h2 id="app-id-title">Identity</h2>
        <dl className="facts">
          <dt>App id</dt>
          <dd>
            <code>{app.id}</code>
          </dd>
          <dt>Created</dt>
          <dd>{formatDate(app.createdAt)}</dd>
        </dl>
      </section>
      <section className="card danger-zone" aria-labelledby="delete-app-title">
        <h2 id="delete-app-title">Delete this app</h2>
        <p>
          Its users, API keys, permissions, records and usage are deleted for good, and connected
          clients are disconnected.
        </p>
        <Button
          variant="danger"
          onClick={() => {
            remove.setError(null);
            setConfirming(true);
          }}
        >
          Delete {app.name}
        </Button>
      </section>
      <ConfirmDialog
        open={confirming}
        title={`Delete ${app.name}?`}
        confirmLabel="Delete the app"
        busy={remove.busy}
        error={remove.error}
        onConfirm={() =>
          remove.run(async () => {
            await api('DELETE', `/apps/${app.id}`);
            setConfirming(false);
            announceAppsChanged();
            navigate('/apps', { replace: true });
          })
        }
        onCancel={() => setConfirming(false)}
      >
        <p>This cannot be undone.</p>
      </ConfirmDialog>
    </div>
  );
}
