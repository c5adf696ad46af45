// The node registry's scripts in Redis (RedisNodeRegistry, ./redis.ts).

// Times come from the Redis server's clock, so nodes with skewed clocks
// agree on who expired. KEYS: beats zset, claims zset.
const NOW = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
`;
// ARGV: node. Returns 1 alive, 0 registered, -1 cleaning.
export const BEAT = `${NOW}
if redis.call('ZSCORE', KEYS[2], ARGV[1]) then return -1 end
local existed = redis.call('ZSCORE', KEYS[1], ARGV[1])
redis.call('ZADD', KEYS[1], now, ARGV[1])
if existed then return 1 end
return 0
`;
// ARGV: deadAfterMs, claimTimeoutMs.
export const CLAIM = `${NOW}
local dead = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[1]))
local stale = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now)
local claimed = {}
for _, node in ipairs(dead) do
  redis.call('ZREM', KEYS[1], node)
  claimed[#claimed + 1] = node
end
for _, node in ipairs(stale) do claimed[#claimed + 1] = node end
for _, node in ipairs(claimed) do
  redis.call('ZADD', KEYS[2], now + tonumber(ARGV[2]), node)
end
return claimed
`;
