import { appendFileSync } from 'node:fs';
import { Histogram } from '../realtime/histogram.ts';
import { DeepstreamClient } from './deps.ts';

// The well-behaved user, in a process of its own so that the attacks' work
// in the bench never delays it: two official clients of a quiet app on the
// attacked node, one emitting a small event every few milliseconds, the
// other subscribed; latency is emit to delivery on this process's clock.
// Driven over IPC by probe.ts.

type Request =
  | { type: 'connect'; url: string; everyMs: number; slowFile: string | null; slowOverMs: number }
  | { type: 'start' }
  | { type: 'stop' }
  | { type: 'close' };

export type ProbeResult = {
  sent: number;
  received: number;
  lost: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Every sample of the window in ms (lost emits at the time they waited), for pooled p99s (probe.ts). */
  latenciesMs: number[];
};

/** The window's samples, in ms (its quantiles are a Histogram of them, at stop). */
let latencies: number[] = [];
const sentAt = new Map<number, number>();
let measuring = false;
let seq = 0;
let sent = 0;
let received = 0;
let timer: NodeJS.Timeout | undefined;
const clients: DeepstreamClient[] = [];

const reply = (id: number, value: unknown) => process.send?.({ id, value });

/** CLOCK_MONOTONIC seconds, as node A's CPU profile and --trace-marks count time. */
const monotonicSeconds = () => Number(process.hrtime.bigint()) / 1e9;

/** `slowFile`: samples over `slowOverMs` are appended to it (--probe-slow; probe-waits.ts reads them). */
async function connect(url: string, everyMs: number, slowFile: string | null, slowOverMs: number) {
  const options = { maxReconnectAttempts: 0, offlineEnabled: false } as const;
  const emitter = new DeepstreamClient(url, options);
  const subscriber = new DeepstreamClient(url, options);
  for (const client of [emitter, subscriber]) {
    client.on('error', () => {});
    clients.push(client);
  }
  await emitter.login({ username: 'probe-emitter' });
  await subscriber.login({ username: 'probe-subscriber' });
  let ready: (() => void) | undefined;
  subscriber.event.subscribe('probe', (data) => {
    ready?.();
    const at = sentAt.get(data as number);
    if (at === undefined) return;
    sentAt.delete(data as number);
    if (!measuring) return;
    received++;
    const latencyMs = performance.now() - at;
    latencies.push(latencyMs);
    if (slowFile && latencyMs > slowOverMs) {
      const sentMonotonic = monotonicSeconds() - latencyMs / 1000;
      appendFileSync(slowFile, `${sentMonotonic.toFixed(6)} ${latencyMs.toFixed(3)}\n`);
    }
  });
  // The subscription is in place once an event comes back.
  await new Promise<void>((resolve) => {
    const knock = setInterval(() => emitter.event.emit('probe', 0), 50);
    ready = () => {
      clearInterval(knock);
      ready = undefined;
      resolve();
    };
  });
  timer = setInterval(() => {
    seq++;
    sentAt.set(seq, performance.now());
    if (measuring) sent++;
    emitter.event.emit('probe', seq);
  }, everyMs);
}

async function stop(): Promise<ProbeResult> {
  // What was sent in the window gets a second to arrive; what does not is lost.
  const deadline = performance.now() + 1000;
  while (received < sent && performance.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  measuring = false;
  const now = performance.now();
  // Lost emits count at the time they waited: a node that drops the probe's
  // events must not look fast.
  for (const at of sentAt.values()) latencies.push(now - at);
  const histogram = Histogram.ofMs(latencies);
  const result = {
    sent,
    received,
    lost: sent - received,
    p50Ms: histogram.quantile(0.5) / 1000,
    p99Ms: histogram.quantile(0.99) / 1000,
    maxMs: histogram.max / 1000,
    latenciesMs: latencies,
  };
  latencies = [];
  sentAt.clear();
  return result;
}

process.on('message', async (message: Request & { id: number }) => {
  try {
    switch (message.type) {
      case 'connect':
        await connect(message.url, message.everyMs, message.slowFile, message.slowOverMs);
        reply(message.id, true);
        break;
      case 'start':
        latencies = [];
        sentAt.clear();
        sent = 0;
        received = 0;
        measuring = true;
        reply(message.id, true);
        break;
      case 'stop':
        reply(message.id, await stop());
        break;
      case 'close':
        clearInterval(timer);
        for (const client of clients) client.close();
        reply(message.id, true);
        setTimeout(() => process.exit(0), 100);
        break;
    }
  } catch (error) {
    process.send?.({ id: message.id, error: String(error) });
  }
});
process.on('disconnect', () => process.exit(0));
