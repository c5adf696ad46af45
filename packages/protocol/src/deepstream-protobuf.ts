import { createRequire } from 'node:module';
import type * as MessageBuilder from '@deepstream/protobuf/dist/src/message-builder.js';
import type * as ProtobufMap from '@deepstream/protobuf/dist/src/protobuf-map.js';
import type * as Types from '@deepstream/protobuf/dist/types/all.js';

// The one place that loads @deepstream/protobuf, the codec of the official
// client. It is CommonJS without an entry point (no "main", no "exports"), so
// its modules are reachable only by their paths, and its protobufjs-generated
// module fills `exports` in a way Node's ESM loader cannot name (its named
// imports come out empty, and Node, tsx and Vitest disagreed on whether they
// sit on `default`). So it is loaded as what it is, with require: Node's own
// CommonJS loader, the same under Node, tsx, Vitest and the built dist/.
// Everything else imports the enums and functions from here; the `import
// type` lines above only borrow the package's declarations and vanish from
// the JavaScript.

const require = createRequire(import.meta.url);

export type Envelope = { topic: number; message: Uint8Array };
/** The part of the generated module (protobuf.js, no declarations) the codec uses. */
type Generated = { Message: { decodeDelimited(data: Uint8Array): Envelope } };

export const protobufTypes = require('@deepstream/protobuf/dist/types/all.js') as typeof Types;
export const messageBuilder =
  require('@deepstream/protobuf/dist/src/message-builder.js') as typeof MessageBuilder;
export const protobufMap =
  require('@deepstream/protobuf/dist/src/protobuf-map.js') as typeof ProtobufMap;
export const generated = require('@deepstream/protobuf/dist/generated/protobuf.js') as Generated;
