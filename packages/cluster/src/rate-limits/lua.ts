// The rate limiter's scripts in Redis (RedisRateLimiter, ./redis.ts).

// KEYS[1] bucket; ARGV max, window ms, cost. Returns {allowed, count, ttl ms}.
export const CONSUME = `
local count = tonumber(redis.call('GET', KEYS[1]) or '0')
local max = tonumber(ARGV[1])
local cost = tonumber(ARGV[3])
if count + cost > max then
  local ttl = redis.call('PTTL', KEYS[1])
  return {0, count, ttl}
end
count = redis.call('INCRBY', KEYS[1], cost)
if count == cost then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return {1, count, redis.call('PTTL', KEYS[1])}
`;

// KEYS[1] bucket; ARGV cost. Never below zero, never creates the key.
export const RELEASE = `
local count = tonumber(redis.call('GET', KEYS[1]) or '0')
if count <= 0 then return 0 end
local cost = math.min(count, tonumber(ARGV[1]))
return redis.call('DECRBY', KEYS[1], cost)
`;
