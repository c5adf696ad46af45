import { createContext, type ReactNode, useCallback, useContext, useEffect, useState } from 'react';
import { type Account, ApiError, api } from './api.ts';

type SessionState =
  | { status: 'loading' }
  | { status: 'out' }
  | { status: 'in'; account: Account }
  | { status: 'error'; message: string };

type Session = SessionState & {
  refresh(): Promise<void>;
  signedIn(account: Account): void;
  signedOut(): void;
};

const SessionContext = createContext<Session | null>(null);

export function SessionProvider({ children }: { children: ReactNode }) {
  const [state, setState] = useState<SessionState>({ status: 'loading' });
  const refresh = useCallback(async () => {
    try {
      const { account } = await api<{ account: Account }>('GET', '/me');
      setState({ status: 'in', account });
    } catch (error) {
      if (error instanceof ApiError && (error.status === 401 || error.status === 403))
        setState({ status: 'out' });
      else setState({ status: 'error', message: (error as Error).message });
    }
  }, []);
  useEffect(() => {
    void refresh();
  }, [refresh]);
  const value: Session = {
    ...state,
    refresh,
    signedIn: (account) => setState({ status: 'in', account }),
    signedOut: () => setState({ status: 'out' }),
  };
  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
}

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error('useSession outside SessionProvider');
  return session;
}
