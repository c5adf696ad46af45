import { createRequire } from 'node:module';
import type * as BullMq from 'bullmq';
import type { Redis, RedisOptions } from 'ioredis';

// ioredis and BullMQ are loaded on first use, not when this package is
// imported: a process without REDIS_URL (`pnpm start` on its own) never
// needs them, and a realtime node that only enqueues loads BullMQ once it
// listens (BullMqJobQueue.prepare), after it is ready. Each comes from its ./vendor/*.cjs, which the
// build bundles into one file (the BullMQ bundle shares the ioredis one).

const require = createRequire(import.meta.url);

let ioredis: typeof import('ioredis') | undefined;
let bullmq: typeof BullMq | undefined;

/** A new ioredis client (`new Redis(url, options)`), loading ioredis the first time. */
export function newRedis(url: string, options?: RedisOptions): Redis {
  ioredis ??= require('./vendor/ioredis.cjs') as typeof import('ioredis');
  return options ? new ioredis.Redis(url, options) : new ioredis.Redis(url);
}

/** Whether BullMQ has been loaded in this process. */
export function bullMqLoaded(): boolean {
  return bullmq !== undefined;
}

/** BullMQ, loaded the first time. */
export function loadBullMq(): typeof BullMq {
  bullmq ??= require('./vendor/bullmq.cjs') as typeof BullMq;
  return bullmq;
}
