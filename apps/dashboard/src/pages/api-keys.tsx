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
  TextArea,
  useAction,
} from '../components/ui.tsx';
import {
  dataUserIdFor,
  type KeyForm,
  type KeyScope,
  keyRequest,
  SCOPE_LABELS,
} from '../lib/api-keys.ts';

type CreatedKey = ApiKey & { key: string };

const EMPTY_FORM: KeyForm = { name: '', scopes: ['users'], userId: '', serverData: '' };

const SCOPE_HINTS: Record<KeyScope, string> = {
  users: "Add, change and remove this app's users through the HTTP API.",
  data: 'Emit events, read and write records, make RPCs and query presence over the realtime HTTP data API, as a trusted backend.',
};

export function ApiKeys({ appId, keys }: { appId: string; keys: Async<ApiKey[]> }) {
  const [form, setForm] = useState<KeyForm>(EMPTY_FORM);
  const [problem, setProblem] = useState<{ field?: string; error: string } | null>(null);
  const { busy, error, run } = useAction();
  const [created, setCreated] = useState<CreatedKey | null>(null);
  const [revoking, setRevoking] = useState<ApiKey | null>(null);
  const {
    busy: revokeBusy,
    error: revokeError,
    run: runRevoke,
    setError: setRevokeError,
  } = useAction();

  const change = (part: Partial<KeyForm>) => {
    setForm((f) => ({ ...f, ...part }));
    setProblem(null);
  };
  const toggleScope = (scope: KeyScope, on: boolean) =>
    change({
      scopes: (['users', 'data'] as const).filter((s) =>
        s === scope ? on : form.scopes.includes(s),
      ),
    });
  const data = form.scopes.includes('data');

  const create = async (event: FormEvent) => {
    event.preventDefault();
    const request = keyRequest(form);
    if (!request.ok) {
      setProblem({ ...(request.field ? { field: request.field } : {}), error: request.error });
      return;
    }
    await run(async () => {
      setCreated(await api<CreatedKey>('POST', `/apps/${appId}/keys`, request.value));
      setForm(EMPTY_FORM);
      keys.reload();
    });
  };

  const fieldError = (field: string) => (problem?.field === field ? problem.error : undefined);

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
        For your servers and scripts. Keep keys secret; never put one in browser code. What a key
        may do is chosen when it is created.
      </p>
      <form onSubmit={create} noValidate aria-label="Create an API key">
        <Field
          label="Key name"
          value={form.name}
          maxLength={100}
          required
          onChange={(e) => change({ name: e.target.value })}
          placeholder="Backend"
          error={fieldError('name')}
        />
        <fieldset className="scopes">
          <legend>What the key may do</legend>
          {(['users', 'data'] as const).map((scope) => (
            <div className="field checkbox-field" key={scope}>
              <input
                id={`scope-${scope}`}
                type="checkbox"
                checked={form.scopes.includes(scope)}
                aria-describedby={`scope-${scope}-hint`}
                onChange={(e) => toggleScope(scope, e.target.checked)}
              />
              <label htmlFor={`scope-${scope}`}>{SCOPE_LABELS[scope]}</label>
              <span className="hint" id={`scope-${scope}-hint`}>
                {SCOPE_HINTS[scope]}
              </span>
            </div>
          ))}
          {fieldError('scopes') ? (
            <p className="field-error" role="alert">
              {fieldError('scopes')}
            </p>
          ) : null}
        </fieldset>
        {data ? (
          <>
            <Field
              label="User id (optional)"
              value={form.userId}
              maxLength={256}
              onChange={(e) => change({ userId: e.target.value })}
              placeholder={`api-key:${form.name.trim() || 'Backend'}`}
              hint={
                <>
                  Data API requests made with this key act as <code>{dataUserIdFor(form)}</code>:
                  rules see it as <code>user.id</code>.
                </>
              }
              error={fieldError('userId')}
            />
            <TextArea
              label="Server data (optional JSON object)"
              value={form.serverData}
              rows={3}
              onChange={(e) => change({ serverData: e.target.value })}
              placeholder='{"role": "backend"}'
              hint={
                <>
                  Rules see it as <code>user.data</code>, e.g.{' '}
                  <code>user.data.role === 'backend'</code>.
                </>
              }
              error={fieldError('serverData')}
            />
          </>
        ) : null}
        <Button type="submit" variant="primary" busy={busy}>
          Create key
        </Button>
      </form>
      <ErrorMessage error={error} />
      {created ? (
        <div className="alert alert-success" role="status">
          <p>
            Your new key <strong>{created.name}</strong> ({scopeText(created)}). Copy it now: it is
            shown only once.
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
          <table className="reflow">
            <caption className="visually-hidden">API keys</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Key</th>
                <th scope="col">Scopes</th>
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
                  <td data-label="Name" className="break">
                    {key.name}
                  </td>
                  <td data-label="Key">
                    <code>{key.prefix}…</code>
                  </td>
                  <td data-label="Scopes" data-testid={`scopes-${key.prefix}`}>
                    {scopeText(key)}
                    {key.dataUserId ? (
                      <span className="hint">
                        {' '}
                        as <code>{key.dataUserId}</code>
                      </span>
                    ) : null}
                  </td>
                  <td data-label="Created">{formatDate(key.createdAt)}</td>
                  <td data-label="Last used">
                    {key.lastUsedAt ? formatDate(key.lastUsedAt) : 'never'}
                  </td>
                  <td className="actions">
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

/** "Manage users, Data API" */
const scopeText = (key: Pick<ApiKey, 'scopes'>) =>
  key.scopes.length === 0 ? 'none' : key.scopes.map((s) => SCOPE_LABELS[s]).join(', ');
