import { type Parsed, parseJsonObject } from './forms.ts';

// API keys and the HTTP data API, kept pure for unit tests: what the create
// form sends, and the curl example on the app page.

export type KeyScope = 'users' | 'data';

export const SCOPE_LABELS: Record<KeyScope, string> = {
  users: 'Manage users',
  data: 'Data API',
};

export type KeyForm = {
  name: string;
  scopes: KeyScope[];
  userId: string;
  serverData: string;
};

export type CreateKeyBody = {
  name: string;
  scopes: KeyScope[];
  userId?: string;
  serverData?: Record<string, unknown>;
};

/** Largest serverData, as the control plane takes it. */
export const MAX_SERVER_DATA_BYTES = 16 * 1024;

/** The create request for the form, or the first problem with it (the server checks again). */
export function keyRequest(
  form: KeyForm,
): Parsed<CreateKeyBody> & { field?: 'name' | 'scopes' | 'userId' | 'serverData' } {
  const name = form.name.trim();
  if (name === '') return { ok: false, field: 'name', error: 'Give the key a name.' };
  if (name.length > 100) return { ok: false, field: 'name', error: 'At most 100 characters.' };
  if (form.scopes.length === 0)
    return { ok: false, field: 'scopes', error: 'Pick what the key may do.' };
  const body: CreateKeyBody = { name, scopes: [...form.scopes] };
  if (!form.scopes.includes('data')) return { ok: true, value: body };
  const userId = form.userId.trim();
  if (userId.startsWith('open:'))
    return {
      ok: false,
      field: 'userId',
      error: 'Ids starting with "open:" belong to open logins: pick another.',
    };
  if (userId.length > 256) return { ok: false, field: 'userId', error: 'At most 256 characters.' };
  if (userId !== '') body.userId = userId;
  const data = parseJsonObject(form.serverData);
  if (!data.ok) return { ok: false, field: 'serverData', error: data.error };
  if (new TextEncoder().encode(JSON.stringify(data.value)).length > MAX_SERVER_DATA_BYTES)
    return {
      ok: false,
      field: 'serverData',
      error: `At most ${MAX_SERVER_DATA_BYTES} bytes as JSON.`,
    };
  if (form.serverData.trim() !== '') body.serverData = data.value;
  return { ok: true, value: body };
}

/** The user id a data key acts as, before it is created (as the server names it). */
export const dataUserIdFor = (form: KeyForm) =>
  form.userId.trim() || `api-key:${form.name.trim() || '<name>'}`;

/** The data API's URL for an app's realtime URL: the same host and port over http(s). */
export const dataApiUrl = (realtimeUrl: string) =>
  `${realtimeUrl
    .replace(/^wss:\/\//, 'https://')
    .replace(/^ws:\/\//, 'http://')
    .replace(/\/+$/, '')}/api`;

/** A word for a POSIX shell: as it is when safe, else in single quotes. */
export const shellWord = (text: string) =>
  /^[\w@%+=:,./-]+$/.test(text) ? text : `'${text.replace(/'/g, "'\\''")}'`;

export type CurlContext = {
  /** The app's realtime URL (wss://host:port/appId). */
  url: string;
  /** The local CA's file, when the server uses one. */
  caFile: string | null;
  /** The record the example reads. */
  record?: string;
};

/**
 * A curl command for the data API that works as copied once HUBSTREAM_KEY
 * holds a key with the data scope: one event emit and one record read.
 */
export function dataApiCurl(context: CurlContext): string {
  const commands = [
    { topic: 'event', action: 'emit', eventName: 'greetings', data: { text: 'Hello over HTTP' } },
    { topic: 'record', action: 'read', recordName: context.record ?? 'hello/world' },
  ];
  // One command a line (the quotes keep the line breaks, which JSON allows).
  const request = `{"body": [\n    ${commands.map((c) => JSON.stringify(c)).join(',\n    ')}\n  ]}`;
  const lines = [
    '# A key with the "Data API" scope (API keys below), e.g.',
    '# export HUBSTREAM_KEY=hsk_...',
    `curl -sS${context.caFile ? ` --cacert ${shellWord(context.caFile)}` : ''} -X POST ${shellWord(dataApiUrl(context.url))} \\`,
    `  -H "Authorization: Bearer $HUBSTREAM_KEY" \\`,
    "  -H 'content-type: application/json' \\",
    `  -d ${shellWord(request)}`,
  ];
  return lines.join('\n');
}
