import type { UsageSample } from '../api.ts';

/** One point per minute from `from` to `to`; minutes without a sample had no traffic. */
export function perMinute(samples: UsageSample[], from: string, to: string): UsageSample[] {
  const byMinute = new Map(samples.map((s) => [new Date(s.minute).getTime(), s]));
  const start = Math.floor(new Date(from).getTime() / 60_000) * 60_000;
  const end = Math.floor(new Date(to).getTime() / 60_000) * 60_000;
  const out: UsageSample[] = [];
  for (let t = start; t <= end; t += 60_000) {
    out.push(
      byMinute.get(t) ?? {
        minute: new Date(t).toISOString(),
        peakConnections: 0,
        messagesIn: 0,
        messagesOut: 0,
        denied: 0,
        rateLimited: 0,
      },
    );
  }
  return out;
}
