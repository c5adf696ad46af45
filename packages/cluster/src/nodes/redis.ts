import type { Redis } from 'ioredis';
import { CLUSTER_SCOPE } from '../bus/bus.ts';
import { BEAT, CLAIM } from './lua.ts';
import type { Beat, NodeRegistry, NodeRegistryOptions } from './node-registry.ts';

type Commands = Redis & {
  hsNodeBeat(beats: string, claims: string, node: string): Promise<number>;
  hsNodeClaim(beats: string, claims: string, deadAfter: number, timeout: number): Promise<string[]>;
};

/**
 * The node registry in Redis: `{prefix}hs:_cluster:nodes` scores each node
 * by its last beat, `{prefix}hs:_cluster:node-claims` each claimed dead node
 * by the time its claim runs out.
 */
export class RedisNodeRegistry implements NodeRegistry {
  readonly nodeId: string;
  readonly #redis: Commands;
  readonly #beats: string;
  readonly #claims: string;
  readonly #deadAfterMs: number;
  readonly #claimTimeoutMs: number;

  constructor(options: NodeRegistryOptions & { redis: Redis; keyPrefix?: string }) {
    options.redis.defineCommand('hsNodeBeat', { numberOfKeys: 2, lua: BEAT });
    options.redis.defineCommand('hsNodeClaim', { numberOfKeys: 2, lua: CLAIM });
    this.#redis = options.redis as Commands;
    this.nodeId = options.nodeId;
    const base = `${options.keyPrefix ?? ''}hs:${CLUSTER_SCOPE}:`;
    this.#beats = `${base}nodes`;
    this.#claims = `${base}node-claims`;
    this.#deadAfterMs = options.deadAfterMs;
    this.#claimTimeoutMs = options.claimTimeoutMs ?? 4 * options.deadAfterMs;
  }

  async beat(): Promise<Beat> {
    const result = await this.#redis.hsNodeBeat(this.#beats, this.#claims, this.nodeId);
    return result === 1 ? 'alive' : result === 0 ? 'registered' : 'cleaning';
  }

  claimDead(): Promise<string[]> {
    return this.#redis.hsNodeClaim(
      this.#beats,
      this.#claims,
      this.#deadAfterMs,
      this.#claimTimeoutMs,
    );
  }

  async release(nodeId: string): Promise<void> {
    await this.#redis.zrem(this.#claims, nodeId);
  }

  async deregister(): Promise<void> {
    await this.#redis.zrem(this.#beats, this.nodeId);
  }

  nodes(): Promise<string[]> {
    return this.#redis.zrange(this.#beats, 0, -1);
  }
}
