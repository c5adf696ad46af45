// Records across nodes (ARCHITECTURE.md "State"): Redis holds the hot copy,
// Postgres the durable one. Realtime nodes change the hot copy only through
// a compare-and-set (RedisRecordStore) and hand the names they wrote to the
// worker's persist-records job in batches (persist-records.ts).
//
// Redis layout, every key starting with the app id:
//   {prefix}hs:{appId}:rec:{name}     hash  v  version (-1: known not to exist)
//                                           d  data as JSON (absent when v is -1)
//                                           p  highest version known to be in Postgres
//                                           g  the record's generation: a token that changes
//                                              whenever the record starts anew in Redis (created
//                                              from absent, seeded or reloaded from Postgres),
//                                              so a late "persisted" mark from before a delete
//                                              cannot count for the record created after it
//   {prefix}hs:{appId}:rec-dirty      zset  names written but maybe not persisted,
//                                           scored by the time of the first such write (ms)
//   {prefix}hs:{appId}:rec-changes    channel: every change, published by the script that
//                                           makes it (format: record-changes.ts), for the
//                                           nodes' caches and their subscribers

export const recordKeys = {
  record: (prefix: string, appId: string, name: string) => `${prefix}hs:${appId}:rec:${name}`,
  dirty: (prefix: string, appId: string) => `${prefix}hs:${appId}:rec-dirty`,
  changes: (prefix: string, appId: string) => `${prefix}hs:${appId}:rec-changes`,
};
