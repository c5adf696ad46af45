import {
  EVENT_ACTION,
  type Message,
  PRESENCE_ACTION,
  RECORD_ACTION,
  RPC_ACTION,
  TOPIC,
} from '@hubstream/protocol';
import type { Command } from './commands.ts';

// What each command answers, in deepstream's JSON format: `{ success: true,
// ... }` with the command's own fields, or `{ success: false, error,
// errorTopic, errorEvent }` (plus what deepstream adds for that error).

export type CommandResult = { success: boolean } & Record<string, unknown>;

const ACTIONS: Record<number, Record<number, string>> = {
  [TOPIC.EVENT]: EVENT_ACTION as unknown as Record<number, string>,
  [TOPIC.RECORD]: RECORD_ACTION as unknown as Record<number, string>,
  [TOPIC.RPC]: RPC_ACTION as unknown as Record<number, string>,
  [TOPIC.PRESENCE]: PRESENCE_ACTION as unknown as Record<number, string>,
};

const topicName = (topic: number) =>
  ((TOPIC as unknown as Record<number, string>)[topic] ?? 'unknown').toLowerCase();

const actionName = (topic: number, action: number | undefined) =>
  (action !== undefined && ACTIONS[topic]?.[action]) || String(action);

/** JSON text from a reply; malformed text is handed back as it is. */
function parsed(text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** The answer to a command from the reply that ended it (undefined: an emit nobody refused). */
export function resultOf(command: Command, reply: Message | undefined): CommandResult {
  if (reply === undefined) return { success: true };
  if (reply.isError || isFailure(reply)) return failure(command, reply);
  switch (command.kind) {
    case 'read':
      return { success: true, version: reply.version, data: parsed(reply.data) };
    case 'head':
      return { success: true, version: reply.version };
    case 'rpc':
      return { success: true, data: parsed(reply.data) };
    case 'queryAll':
      return { success: true, users: reply.names ?? [] };
    case 'query':
      return { success: true, users: parsed(reply.data) };
    default:
      return { success: true };
  }
}

/** Replies that say a command failed without the protocol's error flag. */
function isFailure(reply: Message): boolean {
  if (reply.topic === TOPIC.RECORD) return reply.action === RECORD_ACTION.VERSION_EXISTS;
  if (reply.topic === TOPIC.RPC) return reply.action !== RPC_ACTION.RESPONSE;
  // Any reply to an emit is a refusal.
  return reply.topic === TOPIC.EVENT;
}

function failure(command: Command, reply: Message): CommandResult {
  const event = actionName(reply.topic, reply.action);
  const base = { success: false, errorTopic: topicName(reply.topic), errorEvent: event };
  const name = reply.name ?? command.message.name;
  switch (event) {
    case 'MESSAGE_DENIED':
    case 'MESSAGE_PERMISSION_ERROR': {
      const original = actionName(reply.topic, reply.originalAction ?? command.message.action);
      const what = command.kind === 'emit' ? `Action 'emit'` : `Action "${original}"`;
      return {
        ...base,
        error:
          event === 'MESSAGE_DENIED'
            ? `Message denied. ${what} is not permitted.`
            : `Message denied. ${what} could not be checked: a permission rule failed.`,
        errorAction: command.action,
      };
    }
    case 'VERSION_EXISTS':
      return {
        ...base,
        error: `Record update failed. Version ${reply.version} exists for record "${name}".`,
        currentVersion: reply.version,
        currentData: parsed(reply.data),
      };
    case 'INVALID_VERSION':
      return {
        ...base,
        error: `Record update failed. Version ${command.message.version} is ahead of record "${name}", which is at version ${reply.version}.`,
        currentVersion: reply.version,
      };
    case 'RECORD_NOT_FOUND':
      return { ...base, error: `Record read failed. Record "${name}" could not be found.` };
    // The record store failed (the database, Redis): logged on the node.
    case 'RECORD_UPDATE_ERROR':
      return {
        ...base,
        error: `Record update failed. Record "${name}" could not be stored; the write may not have taken effect.`,
        errorParams: name,
      };
    case 'RECORD_LOAD_ERROR':
      return {
        ...base,
        error: `Record read failed. Record "${name}" could not be loaded.`,
        errorParams: name,
      };
    case 'RECORD_DELETE_ERROR':
      return {
        ...base,
        error: `Record delete failed. Record "${name}" could not be deleted; the delete may not have taken effect.`,
        errorParams: name,
      };
    case 'NO_RPC_PROVIDER':
      return { ...base, error: `No provider was available to handle the RPC "${name}".` };
    case 'RESPONSE_TIMEOUT':
      return { ...base, error: 'The RPC response timeout was exceeded by the provider.' };
    case 'ACCEPT_TIMEOUT':
      return { ...base, error: 'No RPC provider accepted the request in time.' };
    case 'REQUEST_ERROR': {
      const text = parsed(reply.data);
      return {
        ...base,
        error: typeof text === 'string' ? text : `The RPC provider answered with an error.`,
        errorParams: name,
      };
    }
    default:
      return {
        ...base,
        error: `An error occurred: ${event}.`,
        ...(name === undefined ? {} : { errorParams: name }),
      };
  }
}

/** A command refused by the app's message rate before it had any effect. */
export function rateLimited(command: Command): CommandResult {
  return {
    success: false,
    error: "Message denied: the app's message rate limit is reached; the command had no effect.",
    errorTopic: topicName(command.message.topic),
    errorEvent: 'MESSAGE_DENIED',
    errorAction: command.action,
  };
}

/** A command that had no answer by the request's deadline (or was not run by then). */
export function timedOut(): CommandResult {
  return {
    success: false,
    error: 'Request exceeded timeout before a response was received.',
    errorTopic: 'connection',
    errorEvent: 'HTTP_REQUEST_TIMEOUT',
  };
}

/** The node began shutting down while the command waited. */
export function shuttingDown(): CommandResult {
  return {
    success: false,
    error: 'The node shut down before a response was received; send the command again.',
    errorTopic: 'connection',
    errorEvent: 'CONNECTION_ERROR',
  };
}

/** The handler failed unexpectedly (logged); the command may or may not have taken effect. */
export function internalError(command: Command): CommandResult {
  return {
    success: false,
    error: 'The command failed on the server; it may not have taken effect.',
    errorTopic: topicName(command.message.topic),
    errorEvent: 'INTERNAL_ERROR',
  };
}

/** deepstream's overall verdict of a request. */
export function overall(results: CommandResult[]): 'SUCCESS' | 'PARTIAL_SUCCESS' | 'FAILURE' {
  const succeeded = results.filter((r) => r.success).length;
  if (succeeded === results.length) return 'SUCCESS';
  return succeeded === 0 ? 'FAILURE' : 'PARTIAL_SUCCESS';
}
