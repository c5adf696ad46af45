import type { Redis } from 'ioredis';

// The Lua scripts that change records in Redis (layout: record-keys.ts). Each runs atomically, and each change is
// published on the app's change channel inside the script, so every node
// hears the changes of a record in exactly the order Redis accepted them.
// A change message is its header, a newline, then its body; a script appends
// the record's data as the body when asked to (ARGV "append"), so the data
// travels to Redis once.
//
// A script that starts a record anew in Redis (a create over "absent", a
// seed or a reload from Postgres) gives it the caller's fresh generation
// token, `g` (MARK_PERSISTED says why), and a create starts it with nothing
// persisted.

// KEYS[1] record, KEYS[2] the app's dirty set. ARGV[1] expected version
// (-1: must not exist), ARGV[2] new version, ARGV[3] data JSON, ARGV[4] the
// record's name, ARGV[5] now (ms), ARGV[6] change channel, ARGV[7] change
// message, ARGV[8] '1': append the data to it, ARGV[9] the generation of
// a record created by this write. Returns {0}: Redis does not know the
// record (load it, retry); {1, generation}: stored (and marked dirty, and
// announced); {2, version, data}: the version did not match, this is what is
// stored (version -1, data nil: known absent).
const COMPARE_AND_SET = `
local current = redis.call('HMGET', KEYS[1], 'v', 'd', 'g')
if not current[1] then return {0} end
local version = tonumber(current[1])
if version ~= tonumber(ARGV[1]) then return {2, version, current[2]} end
local generation = current[3] or ''
if version == -1 then
  generation = ARGV[9]
  redis.call('PERSIST', KEYS[1])
  redis.call('HSET', KEYS[1], 'v', ARGV[2], 'd', ARGV[3], 'p', '-1', 'g', generation)
else
  redis.call('HSET', KEYS[1], 'v', ARGV[2], 'd', ARGV[3])
end
redis.call('ZADD', KEYS[2], 'NX', ARGV[5], ARGV[4])
if ARGV[8] == '1' then
  redis.call('PUBLISH', ARGV[6], ARGV[7] .. ARGV[3])
else
  redis.call('PUBLISH', ARGV[6], ARGV[7])
end
return {1, generation}
`;

// KEYS[1] record. ARGV[1] version from Postgres (-1: no row), ARGV[2] its
// data JSON, ARGV[3] how long an absence is remembered (ms), ARGV[4] the
// generation of a record seeded. Stores it only
// if Redis has nothing for the record; returns {version, data} of what Redis
// holds afterwards. Not announced: nothing changed for anyone.
const SEED = `
local current = redis.call('HMGET', KEYS[1], 'v', 'd')
if current[1] then return {tonumber(current[1]), current[2]} end
if ARGV[1] == '-1' then
  redis.call('HSET', KEYS[1], 'v', '-1', 'p', '-1')
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
  return {-1, false}
end
redis.call('HSET', KEYS[1], 'v', ARGV[1], 'd', ARGV[2], 'p', ARGV[1], 'g', ARGV[4])
return {tonumber(ARGV[1]), ARGV[2]}
`;

// KEYS[1] record, KEYS[2] the app's dirty set. ARGV[1] version (-1:
// absent), ARGV[2] data JSON, ARGV[3] absence ttl (ms), ARGV[4] name,
// ARGV[5] change channel, ARGV[6] change message, ARGV[7] '1': append the
// data to it, ARGV[8] the generation of a record reloaded. Replaces whatever
// Redis holds with Postgres' word (delete, reload): clean, and announced.
const REPLACE = `
redis.call('DEL', KEYS[1])
if ARGV[1] == '-1' then
  redis.call('HSET', KEYS[1], 'v', '-1', 'p', '-1')
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
else
  redis.call('HSET', KEYS[1], 'v', ARGV[1], 'd', ARGV[2], 'p', ARGV[1], 'g', ARGV[8])
end
redis.call('ZREM', KEYS[2], ARGV[4])
if ARGV[7] == '1' then
  redis.call('PUBLISH', ARGV[5], ARGV[6] .. ARGV[2])
else
  redis.call('PUBLISH', ARGV[5], ARGV[6])
end
return 1
`;

// KEYS[1] record hash, KEYS[2] the app's dirty set; ARGV[1] a version now
// in Postgres, ARGV[2] the record's name, ARGV[3] the generation that
// version belongs to. Raises p to ARGV[1] if the record is still of that
// generation and holds at least that version; once p reaches the stored
// version the record is clean. Returns 1 when clean.
//
// The mark is sent after the commit, outside the records' locks, so it can
// land after another node deleted the record and even created it again up
// to the same version. Raising p then would make the persistence batches
// skip the new record's writes: the generation check leaves it alone.
const MARK_PERSISTED = `
local stored = redis.call('HMGET', KEYS[1], 'v', 'p', 'g')
if not stored[1] then
  redis.call('ZREM', KEYS[2], ARGV[2])
  return 1
end
local version = tonumber(stored[1])
local persisted = tonumber(stored[2] or '-1')
local marked = tonumber(ARGV[1])
if (stored[3] or '') == ARGV[3] and marked <= version and marked > persisted then
  persisted = marked
  redis.call('HSET', KEYS[1], 'p', ARGV[1])
end
if persisted >= version then
  redis.call('ZREM', KEYS[2], ARGV[2])
  return 1
end
return 0
`;

/** What Redis holds for a record: its version (-1: known absent) and data JSON. */
export type StoredReply = [number, string | null];

/** {0} missing, {1, generation} stored, {2, version, data} conflict. */
export type CompareAndSetReply = [0] | [1, string] | [2, number, string | null];

/** The scripts as commands (also on a pipeline of the connection). */
export type RecordScripts = {
  hsRecordCas(
    record: string,
    dirty: string,
    expected: number,
    version: number,
    json: string,
    name: string,
    now: number,
    channel: string,
    change: string,
    appendData: '0' | '1',
    generation: string,
  ): Promise<CompareAndSetReply>;
  hsRecordSeed(
    record: string,
    version: number,
    json: string,
    absentTtlMs: number,
    generation: string,
  ): Promise<StoredReply>;
  hsRecordReplace(
    record: string,
    dirty: string,
    version: number,
    json: string,
    absentTtlMs: number,
    name: string,
    channel: string,
    change: string,
    appendData: '0' | '1',
    generation: string,
  ): Promise<number>;
  hsRecordPersisted(
    record: string,
    dirty: string,
    version: number,
    name: string,
    generation: string,
  ): Promise<number>;
};

export type RecordCommands = Redis & RecordScripts;

/** The connection, with the record scripts defined on it (once). */
export function withRecordCommands(redis: Redis): RecordCommands {
  if (!('hsRecordCas' in redis)) {
    redis.defineCommand('hsRecordCas', { numberOfKeys: 2, lua: COMPARE_AND_SET });
    redis.defineCommand('hsRecordSeed', { numberOfKeys: 1, lua: SEED });
    redis.defineCommand('hsRecordReplace', { numberOfKeys: 2, lua: REPLACE });
    redis.defineCommand('hsRecordPersisted', { numberOfKeys: 2, lua: MARK_PERSISTED });
  }
  return redis as RecordCommands;
}
