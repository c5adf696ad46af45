// Parsing and checking of the dashboard's text inputs, kept pure for unit tests.

export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };

/** A JSON object typed into a text area; empty text is {}. */
export function parseJsonObject(text: string): Parsed<Record<string, unknown>> {
  if (text.trim() === '') return { ok: true, value: {} };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return { ok: false, error: `Not valid JSON: ${(error as Error).message}` };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    return { ok: false, error: 'Must be a JSON object, like {"role": "admin"}.' };
  return { ok: true, value: value as Record<string, unknown> };
}

/** Any JSON value; empty text is undefined (left out). */
export function parseJsonValue(text: string): Parsed<unknown> {
  if (text.trim() === '') return { ok: true, value: undefined };
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (error) {
    return { ok: false, error: `Not valid JSON: ${(error as Error).message}` };
  }
}

/** "200, 201" → [200, 201]; every entry an HTTP status code. */
export function parseStatusCodes(
  text: string,
  { required }: { required: boolean },
): Parsed<number[]> {
  const parts = text
    .split(/[\s,]+/)
    .map((p) => p.trim())
    .filter(Boolean);
  if (parts.length === 0)
    return required
      ? { ok: false, error: 'Give at least one status code.' }
      : { ok: true, value: [] };
  const codes: number[] = [];
  for (const part of parts) {
    const code = Number(part);
    if (!Number.isInteger(code) || code < 100 || code > 599)
      return { ok: false, error: `${part} is not an HTTP status code (100 to 599).` };
    codes.push(code);
  }
  return { ok: true, value: [...new Set(codes)] };
}

export function checkWebhookUrl(url: string): string | undefined {
  if (url.trim() === '') return 'A webhook needs a URL.';
  let parsed: URL;
  try {
    parsed = new URL(url.trim());
  } catch {
    return 'Enter a full URL, like https://example.com/auth.';
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
    return 'The URL must start with http:// or https://.';
  return undefined;
}

/** Header values must be strings. */
export function parseHeaders(text: string): Parsed<Record<string, string>> {
  const parsed = parseJsonObject(text);
  if (!parsed.ok) return parsed;
  for (const [name, value] of Object.entries(parsed.value)) {
    if (typeof value !== 'string')
      return { ok: false, error: `The value of header ${name} must be a string.` };
  }
  return { ok: true, value: parsed.value as Record<string, string> };
}
