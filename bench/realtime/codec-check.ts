import {
  CONNECTION_ACTION,
  decodeFrame,
  encodeMessage,
  TOPIC,
} from '../../packages/protocol/src/index.ts';

// Prints whether @hubstream/protocol decodes its own frames in a plain Node
// process (no vitest, no bench hooks): "ok" or "broken". run.ts asks on
// every run, to say whether protobuf-interop.ts is still needed.

const frame = encodeMessage({ topic: TOPIC.CONNECTION, action: CONNECTION_ACTION.PING });
process.stdout.write(decodeFrame(frame).ok ? 'ok\n' : 'broken\n');
