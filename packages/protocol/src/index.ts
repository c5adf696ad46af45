export {
  AUTH_ACTION,
  CONNECTION_ACTION,
  EVENT_ACTION,
  PARSER_ACTION,
  PRESENCE_ACTION,
  RECORD_ACTION,
  RPC_ACTION,
  TOPIC,
} from './actions.ts';
export * from './client-message.ts';
export { CLOSE_CODES, type CloseCode } from './close-codes.ts';
export { type AnyDecodeResult, type DecodeResult, decodeFrame, encodeMessage } from './codec.ts';
export type { Message } from './message.ts';
export type { NamesOverCap } from './names-scan.ts';
export * from './text/index.ts';
