import { DeepstreamClient } from '@deepstream/client';

// The official client as tests open it: errors a test does not listen for
// are swallowed (the client would otherwise throw them), no reconnecting
// unless asked, and every client closed in one call at the end.

export type ClientOptions = ConstructorParameters<typeof DeepstreamClient>[1];
type AuthData = Parameters<DeepstreamClient['login']>[0] & object;

export class Clients {
  readonly #defaults: ClientOptions;
  readonly #open = new Set<DeepstreamClient>();

  /** `defaults` apply to every client (default: `maxReconnectAttempts: 0`). */
  constructor(defaults: ClientOptions = { maxReconnectAttempts: 0 }) {
    this.#defaults = defaults;
  }

  /** A client of `url` (the app's URL) that has not logged in yet. */
  open(url: string, options: ClientOptions = {}): DeepstreamClient {
    const client = new DeepstreamClient(url, { ...this.#defaults, ...options });
    client.on('error', () => {});
    this.#open.add(client);
    return client;
  }

  /** A logged-in client (open auth unless `authData` says otherwise); rejects if refused. */
  async login(
    url: string,
    authData: AuthData = {},
    options?: ClientOptions,
  ): Promise<DeepstreamClient> {
    const client = this.open(url, options);
    await client.login(authData);
    return client;
  }

  /** Closes every client opened here. */
  closeAll(): void {
    for (const client of this.#open) client.close();
    this.#open.clear();
  }
}
