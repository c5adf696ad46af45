import type * as Types from '@deepstream/protobuf/dist/types/all.js';
import { protobufTypes } from './deepstream-protobuf.ts';

// The deepstream enums, straight from @deepstream/protobuf so the numbers
// can never drift from what the official client speaks. Each is a value (the
// enum object) and a type (the union of its members), like the enum itself.

export const AUTH_ACTION = protobufTypes.AUTH_ACTION;
export type AUTH_ACTION = Types.AUTH_ACTION;
export const CONNECTION_ACTION = protobufTypes.CONNECTION_ACTION;
export type CONNECTION_ACTION = Types.CONNECTION_ACTION;
export const EVENT_ACTION = protobufTypes.EVENT_ACTION;
export type EVENT_ACTION = Types.EVENT_ACTION;
export const PARSER_ACTION = protobufTypes.PARSER_ACTION;
export type PARSER_ACTION = Types.PARSER_ACTION;
export const PRESENCE_ACTION = protobufTypes.PRESENCE_ACTION;
export type PRESENCE_ACTION = Types.PRESENCE_ACTION;
export const RECORD_ACTION = protobufTypes.RECORD_ACTION;
export type RECORD_ACTION = Types.RECORD_ACTION;
export const RPC_ACTION = protobufTypes.RPC_ACTION;
export type RPC_ACTION = Types.RPC_ACTION;
export const TOPIC = protobufTypes.TOPIC;
export type TOPIC = Types.TOPIC;
