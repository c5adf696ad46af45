// The live console's pure parts: what the stream sends, the JSON check of
// the send forms, the stream's URL, and the bounded lists the page keeps.

export type ConsoleRule = {
  section: string;
  pattern: string | null;
  type: string;
  line: number | null;
};

export type ConsoleItem =
  | {
      type: 'event';
      name: string;
      data?: string;
      truncated?: boolean;
      user?: string;
      node: string;
      at: number;
    }
  | {
      type: 'denied';
      topic: string;
      action: string;
      name?: string;
      user?: string;
      verdict: 'denied' | 'error';
      rule: ConsoleRule | null;
      node: string;
      at: number;
    }
  | { type: 'auth'; reason: string; address?: string; node: string; at: number }
  | { type: 'dropped'; what: 'events' | 'problems'; count: number }
  | {
      type: 'nodes';
      nodes: { node: string; connections: number; users: number }[];
      online: string[];
      onlineTruncated: boolean;
    }
  | { type: 'presence'; user: string; online: boolean };

export const STREAM_ITEM_TYPES = [
  'event',
  'denied',
  'auth',
  'dropped',
  'nodes',
  'presence',
] as const;

/** Items each list keeps; older ones fall off the end. */
export const MAX_EVENTS = 300;
export const MAX_PROBLEMS = 200;

export type Subscription = { kind: 'name' | 'pattern'; value: string };

export function streamUrl(appId: string, subscriptions: readonly Subscription[]): string {
  const search = new URLSearchParams();
  for (const { kind, value } of subscriptions) search.append(kind, value);
  const text = search.toString();
  return `/v1/apps/${encodeURIComponent(appId)}/console/stream${text ? `?${text}` : ''}`;
}

/** The data of an event or RPC as typed: empty is "no data". */
export function parseData(
  text: string,
): { ok: true; data: unknown } | { ok: false; message: string } {
  if (text.trim() === '') return { ok: true, data: undefined };
  try {
    return { ok: true, data: JSON.parse(text) };
  } catch (error) {
    return { ok: false, message: `The data is not valid JSON: ${(error as Error).message}` };
  }
}

/** Newest first, at most `max`. */
export function prepend<T>(list: readonly T[], items: readonly T[], max: number): T[] {
  return [...[...items].reverse(), ...list].slice(0, max);
}

/** "chat/room-1 denied: event SUBSCRIBE by user ada, rule event "chat/*" subscribe (line 12)". */
export function describeRule(rule: ConsoleRule | null): string {
  if (!rule) return 'no rule (the app has no rules, or they could not be evaluated)';
  if (rule.pattern === null)
    return `no ${rule.section} pattern with a ${rule.type} rule matched: denied by default`;
  const where = rule.line === null ? '' : ` (line ${rule.line})`;
  return `${rule.section} "${rule.pattern}" ${rule.type}${where}`;
}

export const formatTime = (at: number) =>
  new Date(at).toLocaleTimeString(undefined, { hour12: false }) +
  `.${String(at % 1000).padStart(3, '0')}`;
