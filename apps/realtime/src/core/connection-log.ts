import type { Logger } from './types.ts';

/** `log` with a connection's id and its app's on every line (methods, not closures per connection). */
export class ConnectionLog implements Logger {
  readonly #log: Logger;
  readonly #connection: string;
  readonly #app: string;

  constructor(log: Logger, connection: string, app: string) {
    this.#log = log;
    this.#connection = connection;
    this.#app = app;
  }

  debug(object: object, message?: string): void {
    this.#log.debug({ connection: this.#connection, app: this.#app, ...object }, message);
  }

  info(object: object, message?: string): void {
    this.#log.info({ connection: this.#connection, app: this.#app, ...object }, message);
  }

  warn(object: object, message?: string): void {
    this.#log.warn({ connection: this.#connection, app: this.#app, ...object }, message);
  }

  error(object: object, message?: string): void {
    this.#log.error({ connection: this.#connection, app: this.#app, ...object }, message);
  }
}
