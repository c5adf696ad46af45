import type { Config } from '@hubstream/config';

/** The node-wide knobs the core needs, read once from the config. */
export type NodeSettings = {
  heartbeatIntervalMs: number;
  maxMessageBytes: number;
  rpcAckTimeoutMs: number;
  rpcResponseTimeoutMs: number;
  listenResponseTimeoutMs: number;
  webhookAllowPrivateAddresses: boolean;
};

export function nodeSettings(config: Config): NodeSettings {
  return {
    heartbeatIntervalMs: config.HEARTBEAT_INTERVAL_MS,
    maxMessageBytes: config.MAX_MESSAGE_BYTES,
    rpcAckTimeoutMs: config.RPC_ACK_TIMEOUT_MS,
    rpcResponseTimeoutMs: config.RPC_RESPONSE_TIMEOUT_MS,
    listenResponseTimeoutMs: config.LISTEN_RESPONSE_TIMEOUT_MS,
    webhookAllowPrivateAddresses: config.WEBHOOK_ALLOW_PRIVATE_ADDRESSES,
  };
}
