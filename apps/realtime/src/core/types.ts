// The user a connection logged in as (User) and what the gateway learned
// at upgrade time (ConnectionInfo) are @hubstream/auth's types: one
// definition, which the strategies and the node share.

export type Logger = {
  debug(object: object, message?: string): void;
  info(object: object, message?: string): void;
  warn(object: object, message?: string): void;
  error(object: object, message?: string): void;
};

/** `log` with `fields` (a connection's and its app's ids) on every line. */
export function logWith(log: Logger, fields: object): Logger {
  return {
    debug: (object, message) => log.debug({ ...fields, ...object }, message),
    info: (object, message) => log.info({ ...fields, ...object }, message),
    warn: (object, message) => log.warn({ ...fields, ...object }, message),
    error: (object, message) => log.error({ ...fields, ...object }, message),
  };
}
