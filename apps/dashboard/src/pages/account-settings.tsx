import { type FormEvent, useEffect, useState } from 'react';
import { type Account, ApiError, api } from '../api.ts';
import {
  Button,
  ConfirmDialog,
  ErrorMessage,
  Field,
  formatDate,
  Loading,
  Notice,
  PageTitle,
  useAction,
  useAsync,
} from '../components/ui.tsx';
import { type AccountSession, confirmsEmail, describeUserAgent } from '../lib/account.ts';
import { navigate } from '../router.tsx';
import { useSession } from '../session.tsx';

// The Account page (/account): the email address, the password, the
// sessions, and deleting the account. What could lock the owner out or hand
// the account over asks for the current password again.

/** GET /v1/me adds the address the account is moving to, while its link waits. */
type AccountWithPending = Account & { pendingEmail?: string };

/** A wrong current password is said next to its field, not as a page error. */
const wrongPassword = (error: unknown) =>
  error instanceof ApiError && error.code === 'WRONG_PASSWORD' ? error.message : undefined;

/** The message of a validation error on `field`, said in the dashboard's words. */
function fieldError(error: unknown, field: string): string | undefined {
  if (!(error instanceof ApiError) || error.code !== 'VALIDATION_FAILED') return undefined;
  const detail = (error.details as { path?: string; message?: string }[]).find(
    (d) => d.path === `/${field}`,
  );
  if (!detail) return undefined;
  // A route's own refusal (the current address, a mistyped confirmation) says it best.
  if (!error.message.startsWith('The request ')) return error.message;
  if (field === 'email') return 'Enter a valid email address.';
  if (/fewer/.test(detail.message ?? '')) return 'Use at least 8 characters.';
  return detail.message;
}

/** An error not shown beside a field. */
const formError = (error: unknown, fields: string[]) =>
  wrongPassword(error) || fields.some((f) => fieldError(error, f)) ? null : error;

export function AccountSettingsPage() {
  const session = useSession();
  // Bumped when a change ends sessions, so the list reloads.
  const [sessionsVersion, setSessionsVersion] = useState(0);
  if (session.status !== 'in') return <Loading />;
  const account = session.account as AccountWithPending;
  return (
    <main className="page account-page">
      <PageTitle>Account settings</PageTitle>
      <div className="stack">
        <EmailSection account={account} onChanged={() => void session.refresh()} />
        <PasswordSection onChanged={() => setSessionsVersion((v) => v + 1)} />
        <SessionsSection version={sessionsVersion} />
        <DeleteSection email={account.email} />
      </div>
    </main>
  );
}

function EmailSection({ account, onChanged }: { account: AccountWithPending; onChanged(): void }) {
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [notice, setNotice] = useState<string | null>(null);
  const change = useAction();
  const cancel = useAction();
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setNotice(null);
    await change.run(async () => {
      const reply = await api<{ message: string }>('POST', '/account/email', { email, password });
      setNotice(reply.message);
      setEmail('');
      setPassword('');
      onChanged();
    });
  };
  return (
    <section className="card" aria-labelledby="account-email-title">
      <h2 id="account-email-title">Email address</h2>
      <dl className="facts">
        <dt>Current address</dt>
        <dd>
          <span className="break">{account.email}</span>{' '}
          <span className={account.emailVerified ? 'badge' : 'badge badge-warning'}>
            {account.emailVerified ? 'verified' : 'not verified'}
          </span>
        </dd>
        {account.pendingEmail ? (
          <>
            <dt>Waiting for confirmation</dt>
            <dd>
              <span className="break">{account.pendingEmail}</span>{' '}
              <Button
                variant="link"
                busy={cancel.busy}
                onClick={() =>
                  cancel.run(async () => {
                    await api('DELETE', '/account/email/pending');
                    setNotice(`The change to ${account.pendingEmail} was cancelled.`);
                    onChanged();
                  })
                }
              >
                Cancel the change
              </Button>
            </dd>
          </>
        ) : null}
      </dl>
      <ErrorMessage error={cancel.error} />
      {notice ? <Notice>{notice}</Notice> : null}
      <form onSubmit={submit} noValidate aria-label="Change the email address">
        <p className="hint">
          We mail a link to the new address. Your account keeps {account.email} until the link is
          opened.
        </p>
        <Field
          label="New email address"
          type="email"
          autoComplete="email"
          required
          value={email}
          onChange={(e) => setEmail(e.target.value)}
          error={fieldError(change.error, 'email')}
        />
        <Field
          label="Current password"
          type="password"
          autoComplete="current-password"
          required
          value={password}
          onChange={(e) => setPassword(e.target.value)}
          error={wrongPassword(change.error)}
        />
        <ErrorMessage error={formError(change.error, ['email'])} />
        <Button type="submit" variant="primary" busy={change.busy}>
          Change the email address
        </Button>
      </form>
    </section>
  );
}

function PasswordSection({ onChanged }: { onChanged(): void }) {
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [repeat, setRepeat] = useState('');
  const [notice, setNotice] = useState<string | null>(null);
  const change = useAction();
  const mismatch = repeat.length > 0 && repeat !== next ? 'The passwords differ.' : undefined;
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setNotice(null);
    if (mismatch) return;
    await change.run(async () => {
      const { endedSessions } = await api<{ endedSessions: number }>('POST', '/account/password', {
        currentPassword: current,
        newPassword: next,
      });
      setCurrent('');
      setNext('');
      setRepeat('');
      setNotice(
        endedSessions === 0
          ? 'Your password was changed.'
          : `Your password was changed. ${endedSessions === 1 ? '1 other session was' : `${endedSessions} other sessions were`} ended.`,
      );
      onChanged();
    });
  };
  return (
    <section className="card" aria-labelledby="account-password-title">
      <h2 id="account-password-title">Password</h2>
      {notice ? <Notice>{notice}</Notice> : null}
      <form onSubmit={submit} noValidate aria-label="Change the password">
        <p className="hint">Every other session is ended; this one stays signed in.</p>
        <Field
          label="Current password"
          type="password"
          autoComplete="current-password"
          required
          value={current}
          onChange={(e) => setCurrent(e.target.value)}
          error={wrongPassword(change.error)}
        />
        <Field
          label="New password"
          type="password"
          autoComplete="new-password"
          required
          minLength={8}
          hint="At least 8 characters."
          value={next}
          onChange={(e) => setNext(e.target.value)}
          error={fieldError(change.error, 'newPassword')}
        />
        <Field
          label="Repeat the new password"
          type="password"
          autoComplete="new-password"
          required
          value={repeat}
          onChange={(e) => setRepeat(e.target.value)}
          error={mismatch}
        />
        <ErrorMessage error={formError(change.error, ['newPassword'])} />
        <Button type="submit" variant="primary" busy={change.busy} disabled={Boolean(mismatch)}>
          Change the password
        </Button>
      </form>
    </section>
  );
}

function SessionsSection({ version }: { version: number }) {
  const session = useSession();
  const sessions = useAsync(
    () => api<{ sessions: AccountSession[]; total: number }>('GET', '/account/sessions'),
    [version],
  );
  const end = useAction();
  const [notice, setNotice] = useState<string | null>(null);
  const { reload } = sessions;
  const endOne = (target: AccountSession) =>
    end.run(async () => {
      await api('DELETE', `/account/sessions/${target.id}`);
      if (target.current) {
        session.signedOut();
        navigate('/login', { replace: true });
        return;
      }
      setNotice(`Ended the session of ${describeUserAgent(target.userAgent, target.kind)}.`);
      reload();
    });
  const endOthers = () =>
    end.run(async () => {
      const { revoked } = await api<{ revoked: number }>('POST', '/account/sessions/revoke-others');
      setNotice(revoked === 1 ? 'Ended 1 other session.' : `Ended ${revoked} other sessions.`);
      reload();
    });
  return (
    <section className="card" aria-labelledby="account-sessions-title">
      <h2 id="account-sessions-title">Sessions</h2>
      <p className="hint">
        Where your account is signed in: dashboard logins and session tokens for scripts. Ending one
        signs it out at once.
      </p>
      {notice ? <Notice>{notice}</Notice> : null}
      <ErrorMessage error={end.error} />
      {sessions.status === 'loading' ? <Loading label="Loading sessions…" /> : null}
      {sessions.status === 'error' ? (
        <ErrorMessage error={sessions.error} onRetry={reload} />
      ) : null}
      {sessions.status === 'ok' ? (
        <>
          <div className="table-wrap">
            <table className="reflow">
              <caption className="visually-hidden">Your sessions</caption>
              <thead>
                <tr>
                  <th scope="col">Device</th>
                  <th scope="col">Address</th>
                  <th scope="col">Signed in</th>
                  <th scope="col">Last used</th>
                  <th scope="col">
                    <span className="visually-hidden">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {sessions.data.sessions.map((row) => (
                  <tr key={row.id} data-testid={row.current ? 'current-session' : undefined}>
                    <td data-label="Device" className="break" title={row.userAgent ?? undefined}>
                      {describeUserAgent(row.userAgent, row.kind)}
                    </td>
                    <td data-label="Address">{row.address ?? 'unknown'}</td>
                    <td data-label="Signed in">{formatDate(row.createdAt)}</td>
                    <td data-label="Last used">
                      {row.lastUsedAt ? formatDate(row.lastUsedAt) : 'not since'}
                    </td>
                    <td className="actions">
                      {row.current ? <span className="badge">This session</span> : null}
                      <Button
                        variant={row.current ? 'link' : 'danger'}
                        disabled={end.busy}
                        onClick={() => void endOne(row)}
                        aria-label={
                          row.current
                            ? 'Log out (end this session)'
                            : `End the session of ${describeUserAgent(row.userAgent, row.kind)}, signed in ${formatDate(row.createdAt)}`
                        }
                      >
                        {row.current ? 'Log out' : 'End'}
                      </Button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          {sessions.data.total > sessions.data.sessions.length ? (
            <p className="hint">
              Showing the newest {sessions.data.sessions.length} of {sessions.data.total} sessions.
            </p>
          ) : null}
          <div className="actions">
            <Button disabled={end.busy || sessions.data.total < 2} onClick={() => void endOthers()}>
              End all other sessions
            </Button>
          </div>
        </>
      ) : null}
    </section>
  );
}

function DeleteSection({ email }: { email: string }) {
  const session = useSession();
  const [open, setOpen] = useState(false);
  const [typed, setTyped] = useState('');
  const [password, setPassword] = useState('');
  const remove = useAction();
  useEffect(() => {
    if (open) return;
    setTyped('');
    setPassword('');
  }, [open]);
  const matches = confirmsEmail(typed, email);
  return (
    <section className="card danger-zone" aria-labelledby="account-delete-title">
      <h2 id="account-delete-title">Delete the account</h2>
      <p>
        Your apps are deleted with their users, API keys, permissions and records, their clients are
        disconnected, and every session ends. This cannot be undone.
      </p>
      <Button
        variant="danger"
        onClick={() => {
          remove.setError(null);
          setOpen(true);
        }}
      >
        Delete my account
      </Button>
      <ConfirmDialog
        open={open}
        title="Delete your account?"
        confirmLabel="Delete the account"
        busy={remove.busy}
        error={formError(remove.error, ['email'])}
        onConfirm={() => {
          if (!matches) {
            remove.setError(new Error(`Type ${email} to confirm.`));
            return;
          }
          void remove.run(async () => {
            await api('POST', '/account/delete', { email: typed, password });
            setOpen(false);
            session.signedOut();
            navigate('/login?deleted=1', { replace: true });
          });
        }}
        onCancel={() => setOpen(false)}
      >
        <p>
          Everything in the account goes, for good. To confirm, type your email address,{' '}
          <strong className="break">{email}</strong>, and your password.
        </p>
        <Field
          label="Your email address"
          type="email"
          autoComplete="off"
          value={typed}
          onChange={(e) => setTyped(e.target.value)}
          error={fieldError(remove.error, 'email')}
        />
        <Field
          label="Password"
          type="password"
          autoComplete="current-password"
          value={password}
          onChange={(e) => setPassword(e.target.value)}
          error={wrongPassword(remove.error)}
        />
      </ConfirmDialog>
    </section>
  );
}

/** /settings, which people try first, is the Account page. */
export function SettingsRedirect() {
  useEffect(() => navigate('/account', { replace: true }), []);
  return <Loading />;
}
