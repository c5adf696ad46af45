import type { Developer } from './api.ts';
import type { Deployment } from './deployments.ts';
import type { WebhookServer } from './webhook-server.ts';

// What every attack gets and gives back.

export type AttackContext = {
  deployment: Deployment;
  developer: Developer;
  webhook: WebhookServer;
  /** CI-sized volumes and windows. */
  short: boolean;
  progress(line: string): void;
};

export type AttackResult = {
  /** What was sent, in words: "11 SUBSCRIBE x 50,000 names". */
  volume: string;
  /** What the server did: "closed 4008 after 1.2 s", "refused", "bounded". */
  outcome: string;
  /** Whether the server defended itself the way issue 12 asks (the outcome is the evidence). */
  defended: boolean;
  /** Logins that received another user's id; undefined where the attack cannot impersonate. */
  impersonations?: number;
  /** Effects of input the server refused (records written, names subscribed...); undefined where none is checked. */
  stateChanges?: number;
};

export type Prepared = {
  /** The attack itself: the window in which memory and latency are measured. */
  run(): Promise<AttackResult>;
  /**
   * What the refused input changed, looked up after the window (once the
   * probe stopped measuring): the bench's own reads are not the attack. Under
   * `pnpm start` a control-plane read is a query of the in-process database
   * on the node's event loop (3-6 ms of it in a CPU profile of node A), and
   * three of them at the end of each window were the probe's worst samples.
   * Each change found is named; none: an empty list.
   */
  verify?(): Promise<string[]>;
  cleanup(): Promise<void>;
};

export type Attack = {
  name: string;
  /** Whose memory the attack targets: the realtime node A, or the control plane. */
  target: 'node' | 'control-plane';
  /** Sets up apps and clients, outside the measured window. */
  prepare(context: AttackContext): Promise<Prepared>;
};

/**
 * `until(probe, ms, everyMs?)`: polls until `probe` is true or `ms` passes and
 * says which; the tests' shared poll (vitest-free entry), under the name the
 * attacks use.
 */
export { holdsWithin as until } from '@hubstream/testing/core';

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export const count = (n: number) => n.toLocaleString('en-US');

export const mb = (bytes: number) =>
  bytes < 1024 * 1024
    ? `${(bytes / 1024).toFixed(0)} KB`
    : `${(bytes / 1024 / 1024).toFixed(0)} MB`;
