import type { StoredRecord } from './record-store.ts';

// A record's data as JSON. Stored records are immutable, so each is
// serialised once, whoever asks first: the store persisting or announcing
// it, or the record handler replying with it.

const serialised = new WeakMap<StoredRecord, string>();

export function jsonOf(record: StoredRecord): string {
  let json = serialised.get(record);
  if (json === undefined) {
    json = JSON.stringify(record.data);
    serialised.set(record, json);
  }
  return json;
}

/** Remembers JSON already in hand (the payload of the write that made the record). */
export function knownJson(record: StoredRecord, json: string): StoredRecord {
  serialised.set(record, json);
  return record;
}
