import { type FormEvent, useState } from 'react';
import { type ApiKey, api } from '../api.ts';
import {
  type Async,
  Button,
  ConfirmDialog,
  CopyButton,
  Empty,
  ErrorMessage,
  Field,
  formatDate,
  Loading,
  useAction,
} from '../components/ui.tsx';

type CreatedKey = { id: string; key: string; name: string; prefix: string; createdAt: string };

export function ApiKeys({ appId, keys }: { appId: string; keys: Async<ApiKey[]> }) {
  const [name, setName] = useState('');
  const { busy, error, run } = useAction();
  const [created, setCreated] = useState<CreatedKey | null>(null);
  const [revoking, setRevoking] = useState<ApiKey | null>(null);
  const {
    busy: revokeBusy,
    error: revokeError,
    run: runRevoke,
    setError: setRevokeError,
  } = useAction();

  const create = async (event: FormEvent) => {
    event.preventDefault();
    await run(async () => {
      setCreated(
        await api<CreatedKey>('POST', `/apps/${appId}/keys`, { name: name.trim() || 'API key' }),
      );
      setName('');
      keys.reload();
    });
  };

  const revoke = async () => {
    if (!revoking) return;
    await runRevoke(async () => {
      await api('DELETE', `/apps/${appId}/keys/${revoking.id}`);
      setRevoking(null);
      keys.reload();
    });
  };

  return (
    <div className="card">
      <h2>API keys</h2>
      <p className="hint">
        For your servers and scripts: a key can manage this app's users through the HTTP API. Keep
        keys secret; never put one in browser code.
      </p>
      <form className="inline-form" onSubmit={create} noValidate>
        <Field
          label="Key name"
          value={name}
          maxLength={100}
          onChange={(e) => setName(e.target.value)}
          placeholder="Backend"
        />
        <Button type="submit" busy={busy}>
          Create key
        </Button>
      </form>
      <ErrorMessage error={error} />
      {created ? (
        <div className="alert alert-success" role="status">
          <p>
            Your new key <strong>{created.name}</strong>. Copy it now: it is shown only once.
          </p>
          <div className="copy-row">
            <code data-testid="new-key">{created.key}</code>
            <CopyButton text={created.key} label="Copy key" />
          </div>
          <Button variant="link" onClick={() => setCreated(null)}>
            I have stored it
          </Button>
        </div>
      ) : null}
      {keys.status === 'loading' ? <Loading label="Loading keys…" /> : null}
      {keys.status === 'error' ? <ErrorMessage error={keys.error} onRetry={keys.reload} /> : null}
      {keys.status === 'ok' && keys.data.length === 0 ? <Empty title="No API keys yet" /> : null}
      {keys.status === 'ok' && keys.data.length > 0 ? (
        <div className="table-wrap">
          <table>
            <caption className="visually-hidden">API keys</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Key</th>
                <th scope="col">Created</th>
                <th scope="col">Last used</th>
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {keys.data.map((key) => (
                <tr key={key.id}>
                  <td>{key.name}</td>
                  <td>
                    <code>{key.prefix}…</code>
                  </td>
                  <td>{formatDate(key.createdAt)}</td>
                  <td>{key.lastUsedAt ? formatDate(key.lastUsedAt) : 'never'}</td>
                  <td>
                    {key.revokedAt ? (
                      <span className="badge">revoked</span>
                    ) : (
                      <Button
                        variant="danger"
                        aria-label={`Revoke ${key.name}`}
                        onClick={() => {
                          setRevokeError(null);
                          setRevoking(key);
                        }}
                      >
                        Revoke
                      </Button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      <ConfirmDialog
        open={revoking !== null}
        title={`Revoke ${revoking?.name ?? 'the key'}?`}
        confirmLabel="Revoke the key"
        busy={revokeBusy}
        error={revokeError}
        onConfirm={revoke}
        onCancel={() => setRevoking(null)}
      >
        <p>Requests made with this key fail from now on.</p>
      </ConfirmDialog>
    </div>
  );
}
