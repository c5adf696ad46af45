import { createRequire } from 'node:module';
import type * as BullMq from 'bullmq';
import type { Redis, RedisOptions } from 'ioredis';

// ioredis and BullMQ are loaded on first use, not when this package is
// imported: a process without REDIS_URL (`pnpm start` on its own) never
// needs them, and loading them is a noticeable part of its start. Both come
// from ./vendor/redis.cjs, which the build bundles into one file (one ioredis
// for both, and a fifth of a second less of a start than loading them file
// by file).

const require = createRequire(import.meta.url);

type RedisModules = { ioredis: typeof import('ioredis'); bullmq: typeof BullMq };
let modules: RedisModules | undefined;
const load = () => {
  modules ??= require('./vendor/redis.cjs') as RedisModules;
  return modules;
};

/** A new ioredis client (`new Redis(url, options)`), loading ioredis the first time. */
export function newRedis(url: string, options?: RedisOptions): Redis {
  const { ioredis } = load();
  return options ? new ioredis.Redis(url, options) : new ioredis.Redis(url);
}

/** BullMQ, loaded the first time. */
export function loadBullMq(): typeof BullMq {
  return load().bullmq;
}
