import { register } from 'node:module';

// A bench-local workaround, loaded first in every bench process (run.ts
// imports it before anything else; the servers get it through --import).
//
// packages/protocol/src/codec.ts reads `Message` from
// `import * as generated from '@deepstream/protobuf/dist/generated/protobuf.js'`.
// Under vitest that namespace carries the CommonJS exports; under plain Node
// ESM (tsx, which `pnpm start` uses) it holds only `default`, so every
// decodeFrame fails and the realtime node answers every frame, the very
// first CHALLENGE included, with PARSER MESSAGE_PARSE_ERROR. The codec is not
// the bench's to change; these hooks make the namespace carry the named
// exports, which changes how the module is loaded and nothing else.
// codec-check.ts tells, on every run, whether the codec still needs this.

register('./protobuf-interop-hooks.mjs', import.meta.url);
