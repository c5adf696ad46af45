// The deepstream enums, straight from @deepstream/protobuf so the numbers
// can never drift from what the official client speaks.
export {
  AUTH_ACTION,
  CONNECTION_ACTION,
  EVENT_ACTION,
  PARSER_ACTION,
  PRESENCE_ACTION,
  RECORD_ACTION,
  RPC_ACTION,
  TOPIC,
} from '@deepstream/protobuf/dist/types/all.js';
