import type { NodeRegistry } from './node-registry.ts';

export type NodeWatchOptions = {
  registry: NodeRegistry;
  intervalMs: number;
  /** Removes a dead node's registrations and tells the cluster; `release` follows. */
  cleanUp(deadNode: string): Promise<void>;
  /** This node was declared dead and cleaned up, and is registered again: write its state back. */
  revived(): Promise<void>;
  onError(error: unknown, what: string): void;
};

/**
 * Runs a node's heartbeat: every interval it renews its entry, then claims
 * and cleans up after dead nodes. A dead node is cleaned up within
 * deadAfterMs plus one interval (plus the cleanup's own time).
 */
export class NodeWatch {
  readonly #options: NodeWatchOptions;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | null = null;
  /** When this node last beat: only a node that kept beating judges the others. */
  #lastBeat = 0;
  #started = false;
  #registered = false;
  #restore = false;

  constructor(options: NodeWatchOptions) {
    this.#options = options;
  }

  /** Registers this node (first beat) and starts beating. */
  async start(): Promise<void> {
    if (this.#started) return;
    this.#started = true;
    await this.#tick();
    this.#timer = setInterval(() => {
      // One tick at a time: beats a slow Redis holds up are skipped, not piled up.
      if (!this.#running) void this.#tick();
    }, this.#options.intervalMs);
    this.#timer.unref();
  }

  #tick(): Promise<void> {
    const running = this.#run().finally(() => {
      this.#running = null;
    });
    this.#running = running;
    return running;
  }

  /** Stops beating; `deregister` for a graceful stop (a crash leaves the entry to expire). */
  async stop(options: { deregister: boolean }): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#running;
    if (options.deregister && this.#started) await this.#options.registry.deregister();
    this.#started = false;
  }

  async #run(): Promise<void> {
    const { registry, onError, intervalMs } = this.#options;
    // After a gap in this node's own beats (it stalled, or lost Redis as
    // everyone may have), the others' entries look old too: give them a beat
    // to show they are alive before declaring anyone dead.
    const judging = Date.now() - this.#lastBeat <= 2 * intervalMs;
    try {
      const beat = await registry.beat();
      if (beat === 'cleaning') return;
      this.#lastBeat = Date.now();
      if (beat === 'registered' && this.#registered) this.#restore = true;
      this.#registered = true;
      if (this.#restore) {
        await this.#options.revived();
        this.#restore = false;
      }
    } catch (error) {
      onError(error, 'node heartbeat');
      return;
    }
    if (!judging) return;
    let dead: string[];
    try {
      dead = await registry.claimDead();
    } catch (error) {
      onError(error, 'claiming dead nodes');
      return;
    }
    for (const node of dead) {
      try {
        await this.#options.cleanUp(node);
        await registry.release(node);
      } catch (error) {
        // Left claimed: another node (or this one) takes it again once the claim runs out.
        onError(error, `cleaning up after dead node ${node}`);
      }
    }
  }
}
