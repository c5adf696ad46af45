import { type FormEvent, useEffect, useRef, useState } from 'react';
import { type Account, ApiError, api } from '../api.ts';
import {
  Button,
  ErrorMessage,
  Field,
  Loading,
  Notice,
  PageTitle,
  useAction,
} from '../components/ui.tsx';
import { Link, navigate } from '../router.tsx';
import { useSession } from '../session.tsx';

// Sign up, log in, forgot / reset password and the email verification link.

function fieldErrors(error: unknown): Record<string, string> {
  if (!(error instanceof ApiError) || error.code !== 'VALIDATION_FAILED') return {};
  const out: Record<string, string> = {};
  for (const detail of error.details as { path?: string; field?: string; message?: string }[]) {
    const field = (detail.field ?? detail.path ?? '').replace(/^\/?(body\/)?/, '');
    if (!field || !detail.message) continue;
    if (field === 'email') out[field] = 'Enter a valid email address.';
    else if (field === 'password' && /fewer/.test(detail.message))
      out[field] = 'Use at least 8 characters.';
    else out[field] = detail.message;
  }
  return out;
}

export function SignupPage() {
  const session = useSession();
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const { busy, error, run } = useAction();
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    await run(async () => {
      const { account } = await api<{ account: Account }>('POST', '/signup', {
        email,
        password,
        session: 'cookie',
      });
      session.signedIn(account);
      navigate('/apps', { replace: true });
    });
  };
  const fields = fieldErrors(error);
  return (
    <main className="auth-card">
      <PageTitle>Create your Hubstream account</PageTitle>
      <form onSubmit={submit} noValidate>
        <Field
          label="Email"
          type="email"
          autoComplete="email"
          required
          value={email}
          onChange={(e) => setEmail(e.target.value)}
          error={fields.email}
        />
        <Field
          label="Password"
          type="password"
          autoComplete="new-password"
          required
          minLength={8}
          hint="At least 8 characters."
          value={password}
          onChange={(e) => setPassword(e.target.value)}
          error={fields.password}
        />
        <ErrorMessage error={Object.keys(fields).length ? null : error} />
        <Button type="submit" variant="primary" busy={busy}>
          Sign up
        </Button>
      </form>
      <p>
        Already have an account? <Link to="/login">Log in</Link>
      </p>
    </main>
  );
}

export function LoginPage({ deleted = false }: { deleted?: boolean }) {
  const session = useSession();
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const { busy, error, run } = useAction();
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    await run(async () => {
      const { account } = await api<{ account: Account }>('POST', '/login', {
        email,
        password,
        session: 'cookie',
      });
      session.signedIn(account);
      navigate('/apps', { replace: true });
    });
  };
  return (
    <main className="auth-card">
      <PageTitle>Log in to Hubstream</PageTitle>
      {deleted ? <Notice>Your account was deleted, with its apps. Goodbye.</Notice> : null}
      <form onSubmit={submit} noValidate>
        <Field
          label="Email"
          type="email"
          autoComplete="email"
          required
          value={email}
          onChange={(e) => setEmail(e.target.value)}
        />
        <Field
          label="Password"
          type="password"
          autoComplete="current-password"
          required
          value={password}
          onChange={(e) => setPassword(e.target.value)}
        />
        <ErrorMessage error={error} />
        <Button type="submit" variant="primary" busy={busy}>
          Log in
        </Button>
      </form>
      <p>
        <Link to="/forgot-password">Forgot your password?</Link>
      </p>
      <p>
        New here? <Link to="/signup">Create an account</Link>
      </p>
    </main>
  );
}

export function ForgotPasswordPage() {
  const [email, setEmail] = useState('');
  const { busy, error, run } = useAction();
  const [sent, setSent] = useState<string | null>(null);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    await run(async () => {
      const reply = await api<{ message: string }>('POST', '/password/forgot', { email });
      setSent(reply.message);
    });
  };
  return (
    <main className="auth-card">
      <PageTitle>Reset your password</PageTitle>
      {sent ? (
        <Notice>{sent}</Notice>
      ) : (
        <form onSubmit={submit} noValidate>
          <Field
            label="Email"
            type="email"
            autoComplete="email"
            required
            value={email}
            onChange={(e) => setEmail(e.target.value)}
            hint="We will mail you a link to choose a new password."
          />
          <ErrorMessage error={error} />
          <Button type="submit" variant="primary" busy={busy}>
            Send the link
          </Button>
        </form>
      )}
      <p>
        <Link to="/login">Back to log in</Link>
      </p>
    </main>
  );
}

export function ResetPasswordPage({ token }: { token: string | null }) {
  const session = useSession();
  const [password, setPassword] = useState('');
  const [confirm, setConfirm] = useState('');
  const { busy, error, run } = useAction();
  const [done, setDone] = useState(false);
  const mismatch = confirm.length > 0 && confirm !== password ? 'The passwords differ.' : undefined;
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (mismatch || !token) return;
    await run(async () => {
      await api('POST', '/password/reset', { token, password });
      session.signedOut();
      setDone(true);
    });
  };
  if (!token)
    return (
      <main className="auth-card">
        <PageTitle>Reset your password</PageTitle>
        <ErrorMessage
          error={new Error('This link has no token. Open the link from the email again.')}
        />
      </main>
    );
  return (
    <main className="auth-card">
      <PageTitle>Choose a new password</PageTitle>
      {done ? (
        <>
          <Notice>Your password was changed. Every session was ended: log in again.</Notice>
          <p>
            <Link to="/login">Log in</Link>
          </p>
        </>
      ) : (
        <form onSubmit={submit} noValidate>
          <Field
            label="New password"
            type="password"
            autoComplete="new-password"
            minLength={8}
            required
            hint="At least 8 characters."
            value={password}
            onChange={(e) => setPassword(e.target.value)}
          />
          <Field
            label="Repeat the new password"
            type="password"
            autoComplete="new-password"
            required
            value={confirm}
            onChange={(e) => setConfirm(e.target.value)}
            error={mismatch}
          />
          <ErrorMessage error={error} />
          <Button type="submit" variant="primary" busy={busy} disabled={Boolean(mismatch)}>
            Change the password
          </Button>
        </form>
      )}
    </main>
  );
}

export function VerifyEmailPage({ token }: { token: string | null }) {
  const session = useSession();
  // Done: the account's address, which a change-of-address link has just set.
  const [state, setState] = useState<'working' | { email: string } | { error: unknown }>('working');
  const started = useRef(false);
  useEffect(() => {
    if (started.current) return;
    started.current = true;
    if (!token) {
      setState({ error: new Error('This link has no token. Open the link from the email again.') });
      return;
    }
    api<{ account: Account }>('POST', '/email/verify', { token }).then(
      ({ account }) => {
        setState({ email: account.email });
        void session.refresh();
      },
      (error: unknown) => setState({ error }),
    );
  }, [token, session]);
  return (
    <main className="auth-card">
      <PageTitle>Verify your email address</PageTitle>
      {state === 'working' ? <Loading label="Verifying…" /> : null}
      {typeof state === 'object' && 'email' in state ? (
        <Notice>
          Your email address is verified. Thank you. Your account's address is {state.email}.
        </Notice>
      ) : null}
      {typeof state === 'object' && 'error' in state ? <ErrorMessage error={state.error} /> : null}
      <p>
        <Link to="/apps">Go to your apps</Link>
      </p>
    </main>
  );
}

/** Shown above every page while the account's address is not verified. */
export function VerifyBanner({ account }: { account: Account }) {
  const { busy, error, run } = useAction();
  const [message, setMessage] = useState<string | null>(null);
  if (account.emailVerified) return null;
  return (
    <section className="banner" aria-label="Email verification">
      <span>
        Please verify <strong>{account.email}</strong>: we have mailed you a link.
      </span>
      {message ? <span role="status">{message}</span> : null}
      <ErrorMessage error={error} />
      <Button
        variant="link"
        busy={busy}
        onClick={async () => {
          await run(async () => {
            setMessage((await api<{ message: string }>('POST', '/email/verify/resend')).message);
          });
        }}
      >
        Send the link again
      </Button>
    </section>
  );
}
