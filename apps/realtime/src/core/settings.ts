import type { LoginThrottleSettings } from '@hubstream/auth';
import type { Config } from '@hubstream/config';

/** The node-wide knobs the core needs, read once from the config. */
export type NodeSettings = {
  heartbeatIntervalMs: number;
  maxMessageBytes: number;
  rpcAckTimeoutMs: number;
  rpcResponseTimeoutMs: number;
  listenResponseTimeoutMs: number;
  /** Offer a name to matching listeners in random order; false: in registration order. */
  listenShuffleProviders: boolean;
  webhookAllowPrivateAddresses: boolean;
  webhookLoginTimeoutMs: number;
  loginThrottle: LoginThrottleSettings;
  /** Outbound bytes a connection may have waiting; over it, SLOW_CONSUMER. */
  maxBufferedBytes: number;
  /** How long the buffer may stay over maxBufferedBytes (up to twice it) before SLOW_CONSUMER. */
  slowConsumerGraceMs: number;
  /** How long a close handshake may take before the socket is destroyed. */
  closeTimeoutMs: number;
  preLoginMaxMessageBytes: number;
  preLoginMaxQueuedMessages: number;
  /** Per app, on this node. */
  maxUnauthenticatedPerApp: number;
  /** Per client address across apps, on this node. */
  maxUnauthenticatedPerAddress: number;
};

export function nodeSettings(config: Config): NodeSettings {
  return {
    heartbeatIntervalMs: config.HEARTBEAT_INTERVAL_MS,
    maxMessageBytes: config.MAX_MESSAGE_BYTES,
    rpcAckTimeoutMs: config.RPC_ACK_TIMEOUT_MS,
    rpcResponseTimeoutMs: config.RPC_RESPONSE_TIMEOUT_MS,
    listenResponseTimeoutMs: config.LISTEN_RESPONSE_TIMEOUT_MS,
    listenShuffleProviders: config.LISTEN_SHUFFLE_PROVIDERS,
    // auto means on only where pnpm start resolved it so (on loopback).
    webhookAllowPrivateAddresses: config.WEBHOOK_ALLOW_PRIVATE_ADDRESSES === 'true',
    webhookLoginTimeoutMs: config.WEBHOOK_LOGIN_TIMEOUT_MS,
    loginThrottle: {
      windowMs: config.LOGIN_FAILURE_WINDOW_MS,
      perEmailAndAddress: config.LOGIN_FAILURES_PER_EMAIL_AND_IP,
      perAddress: config.LOGIN_FAILURES_PER_IP,
      perEmail: config.LOGIN_FAILURES_PER_EMAIL,
    },
    maxBufferedBytes: config.CONNECTION_MAX_BUFFERED_BYTES,
    slowConsumerGraceMs: config.CONNECTION_SLOW_CONSUMER_GRACE_MS,
    closeTimeoutMs: config.CONNECTION_CLOSE_TIMEOUT_MS,
    preLoginMaxMessageBytes: config.PRE_LOGIN_MAX_MESSAGE_BYTES,
    preLoginMaxQueuedMessages: config.PRE_LOGIN_MAX_QUEUED_MESSAGES,
    maxUnauthenticatedPerApp: config.APP_MAX_UNAUTHENTICATED_CONNECTIONS,
    maxUnauthenticatedPerAddress: config.MAX_UNAUTHENTICATED_CONNECTIONS_PER_ADDRESS,
  };
}
