// Presence's scripts in Redis (RedisPresenceRegistry, ./redis.ts).

// KEYS: app hash (user -> nodes holding the user), node set (app\0user
// members this node holds). ARGV: user, member.
export const JOIN = `
if redis.call('SADD', KEYS[2], ARGV[2]) == 0 then return 0 end
return redis.call('HINCRBY', KEYS[1], ARGV[1], 1) == 1 and 1 or 0
`;
export const LEAVE = `
if redis.call('SREM', KEYS[2], ARGV[2]) == 0 then return 0 end
if redis.call('HINCRBY', KEYS[1], ARGV[1], -1) <= 0 then
  redis.call('HDEL', KEYS[1], ARGV[1])
  return 1
end
return 0
`;
