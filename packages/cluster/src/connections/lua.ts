// The connection counter's scripts in Redis (RedisConnectionCounter, ./redis.ts).

// KEYS: app hash (node -> connections), node set (apps the node counts in).
// ARGV: node id, max, app id.
export const ACQUIRE = `
local total = 0
for _, n in ipairs(redis.call('HVALS', KEYS[1])) do total = total + tonumber(n) end
if total >= tonumber(ARGV[2]) then return 0 end
redis.call('HINCRBY', KEYS[1], ARGV[1], 1)
redis.call('SADD', KEYS[2], ARGV[3])
return 1
`;
// Same keys; ARGV: node id, app id.
export const RELEASE = `
if redis.call('HINCRBY', KEYS[1], ARGV[1], -1) <= 0 then
  redis.call('HDEL', KEYS[1], ARGV[1])
  redis.call('SREM', KEYS[2], ARGV[2])
end
return 1
`;
// Same keys; ARGV: node id. Returns what the node held in the app.
export const REMOVE = `
local held = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
redis.call('HDEL', KEYS[1], ARGV[1])
return held
`;
