import type { BusTopics } from '@hubstream/cluster';
import type { Message } from '@hubstream/protocol';
import type { AppScope } from '../core/app-scope.ts';
import type { Connection } from '../core/connection.ts';
import { MAX_LISTEN_PATTERN_LENGTH } from './listen-pattern.ts';
import type { Listener } from './local-listeners.ts';

export type ListenActions = {
  topic: number;
  listen: number;
  unlisten: number;
  accept: number;
  reject: number;
  found: number;
  removed: number;
  invalidRegex: number;
};

/**
 * Refuses a LISTEN whose pattern is over the length cap (it is never
 * compiled) as an invalid regex, before any rule reads it: the rule choice
 * for a 200K-character pattern took 24 ms with the event loop stopped
 * (bench:attacks, listen patterns). True when refused.
 */
export function refusedTooLong(
  connection: Connection,
  message: Message,
  actions: ListenActions,
): boolean {
  const pattern = message.name ?? '';
  if (pattern.length <= MAX_LISTEN_PATTERN_LENGTH) return false;
  connection.send({
    topic: actions.topic,
    action: actions.invalidRegex,
    originalAction: message.action,
    name: pattern,
    isError: true,
  });
  return true;
}

/** A FOUND sent to one of this node's listeners, waiting for its answer. */
export type Pending = { listener: Listener; offer: string; attempt: number; from: string };

export type OfferMessage = BusTopics['listen.offer'];
export type AnswerMessage = BusTopics['listen.answer'];
export type GoneMessage = BusTopics['listen.gone'];

/** Where offers and answers addressed to this node go (its ListenRegistry). */
export type LocalListenTraffic = {
  offered(payload: OfferMessage, from: string): void;
  answered(payload: AnswerMessage): void;
};

/**
 * Sends an offer or an answer to `node`: through the bus, or, for this node,
 * at once to `local`, without the bus's detour through the app registry.
 */
export function sendToNode<T extends 'listen.offer' | 'listen.answer'>(
  app: AppScope,
  node: string,
  topic: T,
  payload: BusTopics[T],
  local: LocalListenTraffic,
  failed: (error: unknown) => void,
): void {
  const bus = app.node.bus;
  if (node === bus.nodeId) {
    queueMicrotask(() => {
      if (topic === 'listen.offer') local.offered(payload as OfferMessage, node);
      else local.answered(payload as AnswerMessage);
    });
    return;
  }
  bus.sendTo(node, app.appId, topic, payload).catch(failed);
}

let lastToken = 0;

/** A token no other offer or provider claim has: this node's id and a counter. */
export function offerToken(nodeId: string): string {
  return `${nodeId}#${++lastToken}`;
}

/** Tells a listener it no longer provides `name` (its subscribers left, or another took it). */
export function sendRemoved(actions: ListenActions, listener: Listener, name: string): void {
  listener.connection.send({
    topic: actions.topic,
    action: actions.removed,
    name: listener.pattern,
    subscription: name,
  });
}
