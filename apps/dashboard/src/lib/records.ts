// The data browser's pure parts (pages/data-tab.tsx): the control plane's
// record shapes, its URLs and the editor's JSON check.

export type RecordSummary = { name: string; version: number; updatedAt: string; isList: boolean };
export type RecordPage = { records: RecordSummary[]; next: string | null };
export type DataRecord = {
  name: string;
  version: number;
  data: Record<string, unknown> | unknown[];
  isList: boolean;
};

/** The API path of one record: the name is one path segment, "/" and all encoded. */
export const recordPath = (appId: string, name: string) =>
  `/apps/${encodeURIComponent(appId)}/records/${encodeURIComponent(name)}`;

/** The list's query string; empty values are left out. */
export function recordsQuery(query: { prefix: string; after: string | null; limit: number }) {
  const params = new URLSearchParams();
  if (query.prefix) params.set('prefix', query.prefix);
  if (query.after !== null) params.set('after', query.after);
  params.set('limit', String(query.limit));
  return params.toString();
}

/** What the editor holds, as record data: a JSON object, or an array for a list. */
export function parseRecordJson(
  text: string,
): { ok: true; data: Record<string, unknown> | unknown[] } | { ok: false; message: string } {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    return { ok: false, message: `This is not valid JSON: ${(error as Error).message}` };
  }
  if (typeof data !== 'object' || data === null) {
    return {
      ok: false,
      message: `A record holds a JSON object (or an array, for a list), not ${data === null ? 'null' : typeof data}.`,
    };
  }
  return { ok: true, data: data as Record<string, unknown> | unknown[] };
}
