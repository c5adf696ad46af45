import type { RecordChange, RecordDelta } from './record-store.ts';

// Change messages on `{prefix}hs:{appId}:rec-changes` (published by the
// scripts in redis-record-scripts.ts): a JSON header, a newline, then the
// body. JSON never holds a raw newline, so the first one ends the header.
//
//   header  [origin store, name, version, kind, path?]
//   kind    u  the whole data           body: the data (appended by the script)
//           p  a path set               body: the value at the path
//           e  a path erased            body: empty
//           d  deleted                  body: empty
//           r  reloaded from Postgres   body: the data (appended by the script)

export const CHANGE_CHANNEL_SUFFIX = ':rec-changes';

type Kind = 'u' | 'p' | 'e' | 'd' | 'r';
type Header = [origin: string, name: string, version: number, kind: Kind, path?: string];

/** A change heard from Redis, before it is matched to a store. */
export type HeardChange = { origin: string; change: Exclude<RecordChange, { kind: 'missed' }> };

/**
 * The message the compare-and-set script publishes for a write: its head,
 * and whether the script must append the record's data as the body.
 */
export function writeAnnouncement(
  origin: string,
  name: string,
  version: number,
  delta: RecordDelta,
): { message: string; appendData: '0' | '1' } {
  switch (delta.kind) {
    case 'update':
      return { message: head([origin, name, version, 'u']), appendData: '1' };
    case 'patch':
      return {
        message: head([origin, name, version, 'p', delta.path]) + delta.json,
        appendData: '0',
      };
    case 'erase':
      return { message: head([origin, name, version, 'e', delta.path]), appendData: '0' };
    default: {
      const unknown: never = delta;
      throw new Error(`Unknown record delta ${JSON.stringify(unknown)}`);
    }
  }
}

/** The message the replace script publishes (delete: version -1; reload). */
export function replaceAnnouncement(
  origin: string,
  name: string,
  version: number,
): { message: string; appendData: '0' | '1' } {
  return version < 0
    ? { message: head([origin, name, -1, 'd']), appendData: '0' }
    : { message: head([origin, name, version, 'r']), appendData: '1' };
}

const head = (header: Header) => `${JSON.stringify(header)}\n`;

/** The app a change channel belongs to. */
export function appOfChannel(prefix: string, channel: string): string {
  return channel.slice(prefix.length + 'hs:'.length, -CHANGE_CHANNEL_SUFFIX.length);
}

/** The change a message announces, or null when it is not one. */
export function parseChange(appId: string, message: string): HeardChange | null {
  const end = message.indexOf('\n');
  if (end < 0) return null;
  let header: unknown;
  try {
    header = JSON.parse(message.slice(0, end));
  } catch {
    return null;
  }
  if (!Array.isArray(header)) return null;
  const [origin, name, version, kind, path] = header as Partial<Header>;
  if (typeof origin !== 'string' || typeof name !== 'string' || typeof version !== 'number') {
    return null;
  }
  const body = message.slice(end + 1);
  const at = { appId, name };
  switch (kind) {
    case 'u':
      return { origin, change: { kind: 'update', ...at, version, json: body } };
    case 'r':
      return { origin, change: { kind: 'reloaded', ...at, version, json: body } };
    case 'd':
      return { origin, change: { kind: 'deleted', ...at } };
    case 'p':
      if (typeof path !== 'string') return null;
      return { origin, change: { kind: 'patch', ...at, version, path, json: body } };
    case 'e':
      if (typeof path !== 'string') return null;
      return { origin, change: { kind: 'erase', ...at, version, path } };
    default:
      return null;
  }
}

/** The version a change leaves the record at (-1: absent). */
export function versionAfter(change: HeardChange['change']): number {
  return change.kind === 'deleted' ? -1 : change.version;
}
