import { type FormEvent, useEffect, useState } from 'react';
import { type AppUser, api, type UserList } from '../api.ts';
import {
  Button,
  ConfirmDialog,
  Empty,
  ErrorMessage,
  Field,
  formatDate,
  Loading,
  Notice,
  TextArea,
  useAction,
  useAsync,
} from '../components/ui.tsx';
import { parseJsonObject } from '../lib/forms.ts';

const PAGE_SIZE = 20;

export function UsersTab({ appId }: { appId: string }) {
  const [query, setQuery] = useState('');
  const [search, setSearch] = useState('');
  const [offset, setOffset] = useState(0);
  const [editing, setEditing] = useState<AppUser | 'new' | null>(null);
  const [deleting, setDeleting] = useState<AppUser | null>(null);
  const {
    busy: deleteBusy,
    error: deleteError,
    run: runDelete,
    setError: setDeleteError,
  } = useAction();
  const [notice, setNotice] = useState<string | null>(null);
  // Search as the developer types, once they pause.
  useEffect(() => {
    const next = query.trim();
    if (next === search) return;
    const timer = setTimeout(() => {
      setSearch(next);
      setOffset(0);
    }, 250);
    return () => clearTimeout(timer);
  }, [query, search]);
  const users = useAsync(() => {
    const params = new URLSearchParams({ limit: String(PAGE_SIZE), offset: String(offset) });
    if (search) params.set('q', search);
    return api<UserList>('GET', `/apps/${appId}/users?${params}`);
  }, [appId, search, offset]);

  const remove = async () => {
    if (!deleting) return;
    await runDelete(async () => {
      await api('DELETE', `/apps/${appId}/users/${deleting.id}`);
      setNotice(`Deleted ${deleting.email}.`);
      setDeleting(null);
      users.reload();
    });
  };

  return (
    <div className="stack">
      <p className="hint">
        The users who log in with <strong>email</strong> auth (switch it on on the Auth page).
      </p>
      <div className="toolbar">
        <Field
          label="Search by email"
          type="search"
          value={query}
          onChange={(e) => setQuery(e.target.value)}
        />
        <Button
          variant="primary"
          onClick={() => {
            setNotice(null);
            setEditing('new');
          }}
        >
          Add user
        </Button>
      </div>
      {notice ? <Notice>{notice}</Notice> : null}
      {editing ? (
        <UserForm
          appId={appId}
          user={editing === 'new' ? null : editing}
          onDone={(message) => {
            setEditing(null);
            setNotice(message);
            users.reload();
          }}
          onCancel={() => setEditing(null)}
        />
      ) : null}
      {users.status === 'loading' ? <Loading label="Loading users…" /> : null}
      {users.status === 'error' ? (
        <ErrorMessage error={users.error} onRetry={users.reload} />
      ) : null}
      {users.status === 'ok' && users.data.users.length === 0 ? (
        <Empty title={search ? `No user matches “${search}”` : 'No users yet'}>
          {search ? null : <p>Add one to let them log in with their email and password.</p>}
        </Empty>
      ) : null}
      {users.status === 'ok' && users.data.users.length > 0 ? (
        <>
          <div className="table-wrap">
            <table className="reflow">
              <caption className="visually-hidden">Users</caption>
              <thead>
                <tr>
                  <th scope="col">Email</th>
                  <th scope="col">Id</th>
                  <th scope="col">serverData</th>
                  <th scope="col">Created</th>
                  <th scope="col">
                    <span className="visually-hidden">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {users.data.users.map((user) => (
                  <tr key={user.id}>
                    <td data-label="Email" className="break">
                      {user.email}
                    </td>
                    <td data-label="Id" className="break">
                      <code className="small">{user.id}</code>
                    </td>
                    <td data-label="serverData" className="break">
                      <code className="small">{JSON.stringify(user.serverData)}</code>
                    </td>
                    <td data-label="Created">{formatDate(user.createdAt)}</td>
                    <td className="actions">
                      <Button aria-label={`Edit ${user.email}`} onClick={() => setEditing(user)}>
                        Edit
                      </Button>
                      <Button
                        variant="danger"
                        aria-label={`Delete ${user.email}`}
                        onClick={() => {
                          setDeleteError(null);
                          setDeleting(user);
                        }}
                      >
                        Delete
                      </Button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <nav className="pager" aria-label="Pages of users">
            <Button
              disabled={offset === 0}
              onClick={() => setOffset(Math.max(0, offset - PAGE_SIZE))}
            >
              Previous
            </Button>
            <span>
              {offset + 1}–{offset + users.data.users.length} of {users.data.total}
            </span>
            <Button
              disabled={offset + PAGE_SIZE >= users.data.total}
              onClick={() => setOffset(offset + PAGE_SIZE)}
            >
              Next
            </Button>
          </nav>
        </>
      ) : null}
      <ConfirmDialog
        open={deleting !== null}
        title={`Delete ${deleting?.email ?? 'the user'}?`}
        confirmLabel="Delete the user"
        busy={deleteBusy}
        error={deleteError}
        onConfirm={remove}
        onCancel={() => setDeleting(null)}
      >
        <p>They can no longer log in. This cannot be undone.</p>
      </ConfirmDialog>
    </div>
  );
}

function UserForm({
  appId,
  user,
  onDone,
  onCancel,
}: {
  appId: string;
  user: AppUser | null;
  onDone(message: string): void;
  onCancel(): void;
}) {
  const [email, setEmail] = useState(user?.email ?? '');
  const [password, setPassword] = useState('');
  const [clientData, setClientData] = useState(JSON.stringify(user?.clientData ?? {}, null, 2));
  const [serverData, setServerData] = useState(JSON.stringify(user?.serverData ?? {}, null, 2));
  const [errors, setErrors] = useState<Record<string, string>>({});
  const { busy, error, run } = useAction();
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const found: Record<string, string> = {};
    if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email.trim()))
      found.email = 'Enter a valid email address.';
    if ((!user || password) && password.length < 8) found.password = 'Use at least 8 characters.';
    const client = parseJsonObject(clientData);
    const server = parseJsonObject(serverData);
    if (!client.ok) found.clientData = client.error;
    if (!server.ok) found.serverData = server.error;
    setErrors(found);
    if (Object.keys(found).length > 0 || !client.ok || !server.ok) return;
    const body: Record<string, unknown> = {
      email: email.trim(),
      clientData: client.value,
      serverData: server.value,
    };
    if (password) body.password = password;
    await run(async () => {
      if (user) {
        await api('PATCH', `/apps/${appId}/users/${user.id}`, body);
        onDone(`Saved ${body.email as string}.`);
      } else {
        await api('POST', `/apps/${appId}/users`, body);
        onDone(`Added ${body.email as string}.`);
      }
    });
  };
  return (
    <form
      className="card"
      onSubmit={submit}
      noValidate
      aria-label={user ? 'Edit user' : 'Add user'}
    >
      <h2>{user ? `Edit ${user.email}` : 'Add a user'}</h2>
      <div className="grid-2">
        <Field
          label="User email"
          type="email"
          autoComplete="off"
          value={email}
          onChange={(e) => setEmail(e.target.value)}
          error={errors.email}
        />
        <Field
          label={user ? 'New password (leave empty to keep)' : 'User password'}
          type="password"
          autoComplete="new-password"
          value={password}
          onChange={(e) => setPassword(e.target.value)}
          error={errors.password}
        />
      </div>
      <div className="grid-2">
        <TextArea
          label="clientData (JSON)"
          rows={4}
          value={clientData}
          onChange={(e) => setClientData(e.target.value)}
          error={errors.clientData}
          hint="Sent to the client when it logs in."
        />
        <TextArea
          label="serverData (JSON)"
          rows={4}
          value={serverData}
          onChange={(e) => setServerData(e.target.value)}
          error={errors.serverData}
          hint="Seen by permission rules as user.data; never sent to the client."
        />
      </div>
      <ErrorMessage error={error} />
      <div className="actions">
        <Button type="submit" variant="primary" busy={busy}>
          {user ? 'Save user' : 'Add user'}
        </Button>
        <Button onClick={onCancel}>Cancel</Button>
      </div>
    </form>
  );
}
