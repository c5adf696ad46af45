// The control plane's (and a realtime node's) HTTP API as tests call it:
// JSON in, the status, headers, raw text and parsed body out.

export type ApiOptions = {
  /** Sent as `Authorization: Bearer <token>`. */
  token?: string;
  /** JSON-encoded with `content-type: application/json`; a string is sent as it is, with no type. */
  body?: unknown;
  headers?: Record<string, string>;
  /**
   * When the reply is an event stream (text/event-stream), cancel its body
   * instead of reading it (it would not end): the status and headers say
   * enough; `text` is '' and `body` null.
   */
  skipStream?: boolean;
};

export type ApiReply = {
  status: number;
  headers: Headers;
  /** The content-type header ('' when there is none). */
  type: string;
  text: string;
  /** The body parsed as JSON, the text when it is not JSON, null when empty. */
  // biome-ignore lint/suspicious/noExplicitAny: replies are asserted field by field
  body: any;
  /** The body parsed as JSON (throws when it is not). */
  // biome-ignore lint/suspicious/noExplicitAny: replies are asserted field by field
  json(): any;
};

/** One HTTP request to `base` + `path`. */
export async function api(
  base: string,
  method: string,
  path: string,
  { token, body, headers = {}, skipStream = false }: ApiOptions = {},
): Promise<ApiReply> {
  const sent: Record<string, string> = {};
  if (token) sent.authorization = `Bearer ${token}`;
  if (body !== undefined && typeof body !== 'string') sent['content-type'] = 'application/json';
  Object.assign(sent, headers);
  const init: RequestInit = { method, headers: sent };
  if (body !== undefined) init.body = typeof body === 'string' ? body : JSON.stringify(body);
  const response = await fetch(`${base}${path}`, init);
  const type = response.headers.get('content-type') ?? '';
  const skipped = skipStream && type.startsWith('text/event-stream');
  if (skipped) await response.body?.cancel();
  const text = skipped ? '' : await response.text();
  let parsed: unknown = text || null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {}
  return {
    status: response.status,
    headers: response.headers,
    type,
    text,
    body: parsed,
    json: () => JSON.parse(text),
  };
}

/** `api` bound to one base URL: `const call = apiOf(url); await call('GET', '/v1/me', { token })`. */
export const apiOf =
  (base: string | (() => string)) =>
  (method: string, path: string, options?: ApiOptions): Promise<ApiReply> =>
    api(typeof base === 'string' ? base : base(), method, path, options);
