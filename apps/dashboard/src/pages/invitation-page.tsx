import { type FormEvent, useState } from 'react';
import { type Account, api } from '../api.ts';
import {
  Button,
  ErrorMessage,
  Field,
  formatDate,
  Loading,
  PageTitle,
  useAction,
  useAsync,
} from '../components/ui.tsx';
import {
  type Organisation,
  type Role,
  refreshOrganisations,
  selectOrganisation,
} from '../orgs.tsx';
import { navigate } from '../router.tsx';
import { useSession } from '../session.tsx';
import './team.css';

// /invitation?token=…: the link in an invitation mail. Says who invited whom
// to what; a signed-in account of the address invited joins with one click,
// anyone else logs in or signs up with that address right here and joins.

type Preview = {
  organisation: { id: string; name: string };
  email: string;
  role: Role;
  invitedBy: string | null;
  expiresAt: string;
  accountExists: boolean;
};

export function InvitationPage({ token }: { token: string | null }) {
  const preview = useAsync(
    () =>
      token
        ? api<Preview>('POST', '/invitations/preview', { token })
        : Promise.reject(
            new Error('This link has no invitation in it: open the whole link from the mail.'),
          ),
    [token],
  );
  return (
    <main className="auth-card invitation-card">
      <PageTitle>Join an organisation</PageTitle>
      {preview.status === 'loading' ? <Loading label="Reading the invitation…" /> : null}
      {preview.status === 'error' ? <ErrorMessage error={preview.error} /> : null}
      {preview.status === 'ok' && token ? (
        <Invitation token={token} preview={preview.data} />
      ) : null}
    </main>
  );
}

function Invitation({ token, preview }: { token: string; preview: Preview }) {
  const session = useSession();
  const { busy, error, run } = useAction();
  const [password, setPassword] = useState('');

  const accept = async () => {
    const { organisation } = await api<{ organisation: Organisation }>(
      'POST',
      '/invitations/accept',
      { token },
    );
    await refreshOrganisations();
    selectOrganisation(organisation.id);
    await session.refresh();
    navigate('/apps', { replace: true });
  };

  const signIn = async (event: FormEvent) => {
    event.preventDefault();
    await run(async () => {
      const path = preview.accountExists ? '/login' : '/signup';
      const { account } = await api<{ account: Account }>('POST', path, {
        email: preview.email,
        password,
        session: 'cookie',
      });
      session.signedIn(account);
      await accept();
    });
  };

  const role = preview.role === 'admin' ? 'an admin' : `a ${preview.role}`;
  const signedInAs = session.status === 'in' ? session.account.email : null;
  return (
    <>
      <p>
        {preview.invitedBy ?? 'An admin'} invited <strong>{preview.email}</strong> to join{' '}
        <strong>{preview.organisation.name}</strong> as {role}.
      </p>
      <dl>
        <dt>Organisation</dt>
        <dd>{preview.organisation.name}</dd>
        <dt>Role</dt>
        <dd>{preview.role}</dd>
        <dt>Expires</dt>
        <dd>{formatDate(preview.expiresAt)}</dd>
      </dl>
      {signedInAs === preview.email ? (
        <Button variant="primary" busy={busy} onClick={() => void run(accept)}>
          Join {preview.organisation.name}
        </Button>
      ) : null}
      {signedInAs && signedInAs !== preview.email ? (
        <>
          <p className="alert alert-error" role="alert">
            You are logged in as {signedInAs}, but this invitation is for {preview.email}. Log out
            and open the link again to accept it with that address.
          </p>
          <Button
            onClick={async () => {
              await api('POST', '/logout').catch(() => undefined);
              session.signedOut();
            }}
          >
            Log out
          </Button>
        </>
      ) : null}
      {signedInAs === null ? (
        <form
          onSubmit={signIn}
          noValidate
          aria-label={preview.accountExists ? 'Log in to accept' : 'Sign up to accept'}
        >
          <p>
            {preview.accountExists
              ? `Log in as ${preview.email} to join.`
              : `Create your Hubstream account for ${preview.email} to join.`}
          </p>
          <Field label="Email" type="email" value={preview.email} readOnly autoComplete="email" />
          <Field
            label="Password"
            type="password"
            autoComplete={preview.accountExists ? 'current-password' : 'new-password'}
            minLength={preview.accountExists ? undefined : 8}
            hint={preview.accountExists ? undefined : 'At least 8 characters.'}
            value={password}
            onChange={(e) => setPassword(e.target.value)}
          />
          <Button type="submit" variant="primary" busy={busy}>
            {preview.accountExists ? 'Log in and join' : 'Sign up and join'}
          </Button>
        </form>
      ) : null}
      <ErrorMessage error={error} />
    </>
  );
}
