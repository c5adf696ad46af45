import { randomBytes } from 'node:crypto';
import { TEMPLATES } from '../../packages/valve/src/templates.ts';

// The control plane's HTTP API, as a developer's script would call it: the
// attacks set their apps up through it (auth strategies, rules, limits,
// email users) exactly as the dashboard does.

export type Reply = { status: number; body: unknown; text: string; setCookie: string | null };

export async function request(
  base: string,
  method: string,
  path: string,
  options: { body?: unknown; raw?: string; token?: string; headers?: Record<string, string> } = {},
): Promise<Reply> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  let body: string | undefined;
  if (options.raw !== undefined) body = options.raw;
  else if (options.body !== undefined) body = JSON.stringify(options.body);
  if (body !== undefined) headers['content-type'] ??= 'application/json';
  const response = await fetch(`${base}${path}`, {
    method,
    headers,
    ...(body === undefined ? {} : { body }),
  });
  const text = await response.text();
  let parsed: unknown = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    parsed = text;
  }
  return {
    status: response.status,
    body: parsed,
    text,
    setCookie: response.headers.get('set-cookie'),
  };
}

export class Developer {
  readonly base: string;
  readonly token: string;
  readonly email: string;
  readonly password = 'correct horse battery staple';

  private constructor(base: string, token: string, email: string) {
    this.base = base;
    this.token = token;
    this.email = email;
  }

  static async signUp(base: string): Promise<Developer> {
    const email = `attacker-${randomBytes(4).toString('hex')}@example.com`;
    const reply = await request(base, 'POST', '/v1/signup', {
      body: { email, password: 'correct horse battery staple' },
    });
    if (reply.status !== 201) throw new Error(`signup: ${reply.status} ${reply.text}`);
    return new Developer(base, String((reply.body as { token: string }).token), email);
  }

  /** A call that must succeed (set-up); returns the parsed body. */
  async call(method: string, path: string, body?: unknown): Promise<Record<string, unknown>> {
    const reply = await request(this.base, method, path, {
      token: this.token,
      ...(body === undefined ? {} : { body }),
    });
    if (reply.status >= 300) throw new Error(`${method} ${path}: ${reply.status} ${reply.text}`);
    return (reply.body ?? {}) as Record<string, unknown>;
  }

  /** Any call, whatever its answer (attacks). */
  send(method: string, path: string, options: Parameters<typeof request>[3] = {}) {
    return request(this.base, method, path, { token: this.token, ...options });
  }

  /** Every app this developer created, oldest first. */
  readonly apps: string[] = [];

  /** Creates an app with these rules, auth settings and limits; returns its id. */
  async createApp(
    name: string,
    setup: { rules?: string; auth?: Record<string, unknown>; limits?: Record<string, unknown> },
  ): Promise<string> {
    const app = await this.call('POST', '/v1/apps', { name });
    const id = String(app.id);
    if (setup.rules) await this.call('PUT', `/v1/apps/${id}/permissions`, { valve: setup.rules });
    if (setup.auth) await this.call('PUT', `/v1/apps/${id}/auth`, setup.auth);
    if (setup.limits) await this.call('PUT', `/v1/apps/${id}/limits`, setup.limits);
    this.apps.push(id);
    return id;
  }

  async createUser(appId: string, email: string, password: string): Promise<string> {
    const user = await this.call('POST', `/v1/apps/${appId}/users`, { email, password });
    return String(user.id);
  }
}

/** Limits high enough that no rate limit shapes an attack that is about something else. */
export const HIGH_LIMITS = {
  maxConnections: 1_000_000,
  maxMessagesPerSecond: 1_000_000,
  connectionMessagesPerSecond: 100_000,
  maxCrossReferencesPerSecond: 1_000_000,
};

/** Everything allowed, for attacks that are not about permissions: the development starter rules. */
export const OPEN_RULES = TEMPLATES.development.valve;
