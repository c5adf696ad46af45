import type { BusEnvelope, ClusterBus } from '@hubstream/cluster';
import { type Message, RPC_ACTION, rpcInvalid, TOPIC } from '@hubstream/protocol';
import type { Connection } from '../core/connection.ts';

// Replies the RPC handler sends about a client's own message (PROTOCOL.md 5).

/** PROVIDE or UNPROVIDE done. */
export function ack(connection: Connection, message: Message): void {
  connection.send({
    topic: TOPIC.RPC,
    action: message.action,
    ...(message.correlationId === undefined ? {} : { correlationId: message.correlationId }),
    isAck: true,
  });
}

/** A request id already in use, or a reply to a call this connection does not hold. */
export function invalidCorrelation(
  connection: Connection,
  message: Message,
  name: string | undefined,
  cid: string,
): void {
  connection.send({
    topic: TOPIC.RPC,
    action: RPC_ACTION.INVALID_RPC_CORRELATION_ID,
    originalAction: message.action,
    ...(name === undefined ? {} : { name }),
    correlationId: cid,
    isError: true,
  });
}

/** Data that is not JSON: the same reply as the codec's for a malformed message. */
export function invalidMessage(connection: Connection, message: Message): void {
  connection.send(rpcInvalid(message));
}

/** A call offered to a node where its app is not loaded: nobody provides it here. */
export function refuseRemoteRequest(bus: ClusterBus, message: BusEnvelope<'rpc.request'>): void {
  bus
    .sendTo(message.origin, message.appId, 'rpc.reply', {
      id: message.payload.id,
      action: RPC_ACTION.NO_RPC_PROVIDER,
    })
    .catch(() => {
      // The requester's clocks end the call.
    });
}
