// WebSocket close codes the realtime node uses; ERROR_CODES.md documents
// them. 4000-4999 is the range RFC 6455 leaves to applications.
export const CLOSE_CODES = {
  /** Normal shutdown of the node (drain): the client should reconnect. */
  GOING_AWAY: 1001,
  /** A frame larger than the app's message size limit. */
  MESSAGE_TOO_BIG: 1009,
  /** The client did not log in within the app's unauthenticated timeout. */
  AUTHENTICATION_TIMEOUT: 4001,
  /** Too many failed logins on one connection. */
  TOO_MANY_AUTH_ATTEMPTS: 4002,
  /** The first frames broke the handshake (not CHALLENGE, or bad AUTH data). */
  PROTOCOL_VIOLATION: 4003,
  /** The client sent nothing for twice the heartbeat interval. */
  HEARTBEAT_TIMEOUT: 4004,
  /** The app was deleted while the client was connected. */
  APP_DELETED: 4005,
  /** The app already has as many connections as its limit allows (after `CONNECTION REJECT`). */
  CONNECTION_LIMIT_REACHED: 4006,
  /** No app has the id in the URL (after `CONNECTION REJECT`, so the official client stops). */
  APP_NOT_FOUND: 4007,
  /** The client did not read what was sent to it: its outbound buffer stayed over the node's bound. */
  SLOW_CONSUMER: 4008,
  /** More messages before login than the node queues while a challenge or login is decided. */
  TOO_MANY_MESSAGES_BEFORE_LOGIN: 4009,
  /** Too many connections not logged in yet, from the client's address or to the app, on this node. */
  TOO_MANY_UNAUTHENTICATED_CONNECTIONS: 4010,
} as const;

export type CloseCode = (typeof CLOSE_CODES)[keyof typeof CLOSE_CODES];
