import { createRequire } from 'node:module';
import type * as DeepstreamModule from '@deepstream/client';

// The bench is no workspace package: the official client comes from
// apps/realtime, where it is a (dev) dependency, as `ws` does in
// ../realtime/deps.ts. Types come through this folder's tsconfig.json.

const fromRealtime = createRequire(new URL('../../apps/realtime/package.json', import.meta.url));
const deepstream = fromRealtime('@deepstream/client') as typeof DeepstreamModule;

export const DeepstreamClient = deepstream.DeepstreamClient;
export type DeepstreamClient = DeepstreamModule.DeepstreamClient;
