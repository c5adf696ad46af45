import { randomBytes } from 'node:crypto';
import { type ApiOptions, type ApiReply, api } from './http.ts';

// A developer account on a control plane, as most tests begin: signed up
// through the HTTP API, with an API caller that sends the account's token,
// and "create an app with these rules" in one call. Failures throw with
// the control plane's reply (no Vitest here: benches may use it).

export const DEVELOPER_PASSWORD = 'correct horse battery';

export type Developer = {
  email: string;
  password: string;
  token: string;
  /** The `hs_session=...` cookie of the sign-up, when asked for (`cookie: true`). */
  cookie: string;
  /** The control plane's API as this developer: their token unless `options.token` names another. */
  call(method: string, path: string, options?: ApiOptions): Promise<ApiReply>;
  /** Creates an app (with `valve` as its rules when given) and resolves with its id. */
  createApp(options?: { name?: string; valve?: string }): Promise<string>;
};

export type SignUpOptions = {
  /** Default: a fresh `<prefix>-<random>@example.com`. */
  email?: string;
  /** The start of the generated email address (default 'dev'). */
  prefix?: string;
  password?: string;
  /**
   * Sign up with a session cookie (as the dashboard does) and log in for
   * the token; `cookie` then holds the session.
   */
  cookie?: boolean;
};

/** Signs a developer up on the control plane at `base` (its URL). */
export async function signUp(base: string, options: SignUpOptions = {}): Promise<Developer> {
  const email =
    options.email ?? `${options.prefix ?? 'dev'}-${randomBytes(4).toString('hex')}@example.com`;
  const password = options.password ?? DEVELOPER_PASSWORD;
  const signup = await api(base, 'POST', '/v1/signup', {
    body: { email, password, ...(options.cookie ? { session: 'cookie' } : {}) },
  });
  expectStatus(signup, 201, 'POST /v1/signup');
  let token = '';
  let cookie = '';
  if (options.cookie) {
    cookie = (signup.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
    if (!cookie.startsWith('hs_session='))
      throw new Error(`sign-up set no session cookie: ${cookie}`);
    const login = await api(base, 'POST', '/v1/login', { body: { email, password } });
    expectStatus(login, 200, 'POST /v1/login');
    token = String(login.body.token);
  } else {
    token = String(signup.body.token);
  }
  const call = (method: string, path: string, callOptions: ApiOptions = {}) =>
    api(base, method, path, { token, ...callOptions });
  return {
    email,
    password,
    token,
    cookie,
    call,
    async createApp({ name = 'test app', valve } = {}) {
      const app = await call('POST', '/v1/apps', { body: { name } });
      expectStatus(app, 201, 'POST /v1/apps');
      const id = String(app.body.id);
      if (valve !== undefined) {
        const rules = await call('PUT', `/v1/apps/${id}/permissions`, { body: { valve } });
        expectStatus(rules, 200, `PUT /v1/apps/${id}/permissions`);
      }
      return id;
    },
  };
}

function expectStatus(reply: ApiReply, status: number, what: string): void {
  if (reply.status !== status) {
    throw new Error(`${what} answered ${reply.status}, not ${status}: ${reply.text}`);
  }
}
