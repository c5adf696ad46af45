import { useEffect } from 'react';
import { Sidebar, TopBar } from './components/layout.tsx';
import { ErrorMessage, Loading } from './components/ui.tsx';
import {
  ForgotPasswordPage,
  LoginPage,
  ResetPasswordPage,
  SignupPage,
  VerifyBanner,
  VerifyEmailPage,
} from './pages/account-pages.tsx';
import { AccountSettingsPage, SettingsRedirect } from './pages/account-settings.tsx';
import { AppPage } from './pages/app-page.tsx';
import { AppsPage } from './pages/apps-page.tsx';
import { GuidePage, isGuidePath } from './pages/guides-page.tsx';
import { InvitationPage } from './pages/invitation-page.tsx';
import { TeamPage } from './pages/team-page.tsx';
import { Link, match, navigate, useLocation } from './router.tsx';
import { SessionProvider, useSession } from './session.tsx';

// The shell: top bar, sidebar, the routes, and who may see which.

const PUBLIC_ONLY = ['/login', '/signup', '/forgot-password'];

function Routes() {
  const session = useSession();
  const { path, query } = useLocation();
  const signedIn = session.status === 'in';

  useEffect(() => {
    if (session.status === 'loading' || session.status === 'error') return;
    const isPublicOnly = PUBLIC_ONLY.includes(path);
    const isOpen =
      path === '/verify-email' ||
      path === '/reset-password' ||
      path === '/invitation' ||
      isGuidePath(path);
    if (!signedIn && !isPublicOnly && !isOpen) navigate('/login', { replace: true });
    else if (signedIn && (isPublicOnly || path === '/')) navigate('/apps', { replace: true });
  }, [session.status, signedIn, path]);

  // The guides are open to everyone, signed in or not.
  if (isGuidePath(path)) return <GuidePage path={path} />;
  if (path === '/verify-email') return <VerifyEmailPage token={query.get('token')} />;
  if (path === '/reset-password') return <ResetPasswordPage token={query.get('token')} />;
  if (session.status === 'loading') return <Loading />;
  // Signed in or not: the page logs in or signs up the address invited.
  if (path === '/invitation') return <InvitationPage token={query.get('token')} />;
  if (session.status === 'error')
    return (
      <main className="auth-card">
        <ErrorMessage error={new Error(session.message)} onRetry={() => void session.refresh()} />
      </main>
    );
  if (!signedIn) {
    if (path === '/signup') return <SignupPage />;
    if (path === '/forgot-password') return <ForgotPasswordPage />;
    return <LoginPage deleted={path === '/login' && query.get('deleted') === '1'} />;
  }
  if (path === '/apps') return <AppsPage />;
  if (path === '/account') return <AccountSettingsPage />;
  if (path === '/team') return <TeamPage />;
  if (path === '/settings') return <SettingsRedirect />;
  const appMatch = match('/apps/:id', path) ?? match('/apps/:id/:tab', path);
  if (appMatch?.id) return <AppPage appId={appMatch.id} tab={appMatch.tab ?? 'overview'} />;
  if (PUBLIC_ONLY.includes(path) || path === '/') return <Loading />;
  return (
    <main className="page">
      <h1>Page not found</h1>
      <p>
        <Link to="/apps">Go to your apps</Link>
      </p>
    </main>
  );
}

function Shell() {
  const session = useSession();
  const { path } = useLocation();
  // Signed-in pages sit beside the sidebar; the guides bring their own
  // contents list, and the sign-in pages are one centred card.
  const withSidebar = session.status === 'in' && !isGuidePath(path) && path !== '/invitation';
  return (
    <>
      <TopBar />
      {session.status === 'in' ? <VerifyBanner account={session.account} /> : null}
      <div className={withSidebar ? 'layout' : 'layout-plain'}>
        {withSidebar ? <Sidebar /> : null}
        <div id="content" tabIndex={-1} className="content">
          <Routes />
        </div>
      </div>
    </>
  );
}

export function App() {
  return (
    <SessionProvider>
      <Shell />
    </SessionProvider>
  );
}
