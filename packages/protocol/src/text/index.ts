export {
  hasSeparator,
  RS as TEXT_MESSAGE_SEPARATOR,
  US as TEXT_PART_SEPARATOR,
} from './constants.ts';
export {
  DEFAULT_MAX_TEXT_MESSAGES,
  decodeTextFrame,
  type TextDecodeFailure,
  type TextDecodeFailureReason,
  type TextDecodeOptions,
  type TextDecodeResult,
} from './decode.ts';
export {
  DEFAULT_TEXT_BATCH_CHARS,
  encodeTextFrame,
  encodeTextMessage,
  TextBatch,
} from './encode.ts';
export { type HeadKind, MAX_PENDING_HEADS, TextConnectionState } from './state.ts';
export { jsonToTyped, typedToJson, typedValue } from './typed.ts';
