import type { DeepstreamClient } from '@deepstream/client';
import type { RecordStore } from '@hubstream/records';
import { until } from '@hubstream/testing';
import type { Stack } from './harness.ts';

// Shared by the record suites: waiting on the node's record state and on
// what a client's record shows, without sleeping.

export type ClientRecord = ReturnType<DeepstreamClient['record']['getRecord']>;

/** A record once the server answered its subscription. */
export async function ready(client: DeepstreamClient, name: string): Promise<ClientRecord> {
  const record = client.record.getRecord(name);
  await record.whenReady();
  return record;
}

/**
 * Resolves when the record's data satisfies the test. Every change is
 * checked as it arrives (a state that a later change replaces within one
 * poll still counts), and the shared `until` waits for one to have passed.
 */
export async function becomes(
  record: ClientRecord,
  test: (data: unknown) => boolean,
  what = 'record change',
): Promise<void> {
  let passed = false;
  const check = () => {
    passed ||= test(record.get());
  };
  record.subscribe(check);
  check();
  try {
    await until(() => passed, what, { explain: () => JSON.stringify(record.get()) });
  } finally {
    record.unsubscribe(check);
  }
}

/** Resolves with the next error the record reports (e.g. MESSAGE_DENIED). */
export function recordError(record: { on(event: string, cb: (...args: never[]) => void): void }) {
  return new Promise<string>((resolve) => {
    record.on('error', ((error: string) => resolve(error)) as (...args: never[]) => void);
  });
}

/** How many connections of the app subscribe to the record on the node. */
export async function subscriberCount(stack: Stack, appId: string, name: string) {
  const runtime = await stack.runtime(appId);
  return runtime?.records.subscriptions.count(name);
}

export async function subscribers(stack: Stack, appId: string, name: string, count: number) {
  await until(
    async () => (await subscriberCount(stack, appId, name)) === count,
    `${count} subscribers on ${name}`,
  );
}

/** The node's record store (local, or Redis in a `redis` stack). */
export async function storeOf(stack: Stack, appId: string): Promise<RecordStore> {
  const runtime = await stack.runtime(appId);
  if (!runtime) throw new Error(`no runtime for ${appId}`);
  return runtime.node.records;
}

/** The durable copy, straight from Postgres. */
export async function stored(stack: Stack, appId: string, name: string) {
  const row = await stack.db.prisma.record.findUnique({ where: { appId_name: { appId, name } } });
  return row ? { version: row.version, data: row.data } : null;
}
