// The listener registry's scripts in Redis (RedisListenerRegistry, ./redis.ts).
//
// Per app and topic, under `{prefix}hs:{appId}:listen:{topic}:`:
//   subs       hash  name -> number of nodes with subscribers
//   listeners  set   node\0connection\0pattern
//   order      hash  node\0connection\0pattern -> registration number
//   seq        the last registration number given
//   providers  hash  name -> provider token
//   offers     hash  name -> offer token
// Per node, `{prefix}hs:_cluster:listen:{nodeId}`: a set of what the node
// holds, so a dead node's share can be taken back:
//   s\0app\0topic\0name, l\0app\0topic\0connection\0pattern,
//   p\0app\0topic\0token\0name, o\0app\0topic\0token\0name

// One name's SUBSCRIBE, shared by the two scripts below: adds the node's
// subs member; when the node is new to the name, counts it and, for the
// name's first subscriber anywhere with listeners and no provider or offer,
// records an offer under `token` (offerMember in the node's index). Appends
// three numbers to out: first, provided, offer.
const SUBSCRIBE_ONE = `
local listening = nil
local function subscribeOne(out, name, member, token, offerMember)
  if redis.call('SADD', KEYS[2], member) == 0 then
    table.insert(out, 0)
    table.insert(out, redis.call('HEXISTS', KEYS[4], name))
    table.insert(out, 0)
    return
  end
  local first = redis.call('HINCRBY', KEYS[1], name, 1) == 1 and 1 or 0
  local provided = redis.call('HEXISTS', KEYS[4], name)
  local offer = 0
  if first == 1 and provided == 0 and token ~= '' then
    if listening == nil then listening = redis.call('SCARD', KEYS[3]) > 0 end
    if listening and redis.call('HEXISTS', KEYS[5], name) == 0 then
      redis.call('HSET', KEYS[5], name, token)
      redis.call('SADD', KEYS[2], offerMember)
      offer = 1
    end
  end
  table.insert(out, first)
  table.insert(out, provided)
  table.insert(out, offer)
end
`;

// KEYS: subs, node index, listeners, providers, offers.
// ARGV: for each name, four: name, subs member, offer token ('' none), offer
// member. Returns three numbers per name: first, provided, offer. Many names
// in one call (names a node got its first subscriber of in one turn): one
// script call and one reply instead of one per name.
export const SUBSCRIBE = `${SUBSCRIBE_ONE}
local out = {}
for i = 1, #ARGV, 4 do
  subscribeOne(out, ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3])
end
return out
`;

// SUBSCRIBE for many names with less sent per name. KEYS: as SUBSCRIBE.
// ARGV: the subs member's prefix (s\0app\0topic\0), the offer member's
// prefix (o\0app\0topic\0), an offer token base ('' none), the index of
// the first name, then the names. The members are made here: the name's
// subs member is its prefix and the name; an offer recorded for the name at
// index i has the token base.i (batchOfferToken, ./members.ts). Returns
// three numbers per name, as SUBSCRIBE.
export const SUBSCRIBE_MANY = `${SUBSCRIBE_ONE}
local out = {}
local subsPrefix, offerPrefix, base = ARGV[1], ARGV[2], ARGV[3]
local index = tonumber(ARGV[4]) - 5
for i = 5, #ARGV do
  local name = ARGV[i]
  local token = ''
  if base ~= '' then token = base .. '.' .. tostring(index + i) end
  subscribeOne(out, name, subsPrefix .. name, token, offerPrefix .. token .. '\\0' .. name)
end
return out
`;

// One name leaving this node (KEYS: subs, node index, providers, offers):
// appends three values to `out`: last (1 or 0), provider token ('' none),
// offer token ('' none).
const UNSUBSCRIBE_ONE = `
local function unsubscribeOne(out, name, member)
  if redis.call('SREM', KEYS[2], member) == 0 or redis.call('HINCRBY', KEYS[1], name, -1) > 0 then
    table.insert(out, 0)
    table.insert(out, '')
    table.insert(out, '')
  else
    redis.call('HDEL', KEYS[1], name)
    local provider = redis.call('HGET', KEYS[3], name) or ''
    local offer = redis.call('HGET', KEYS[4], name) or ''
    redis.call('HDEL', KEYS[3], name)
    redis.call('HDEL', KEYS[4], name)
    table.insert(out, 1)
    table.insert(out, provider)
    table.insert(out, offer)
  end
end
`;

// KEYS: subs, node index, providers, offers. ARGV: for each name, two: name,
// subs member. Returns three values per name (UNSUBSCRIBE_ONE).
export const UNSUBSCRIBE = `${UNSUBSCRIBE_ONE}
local out = {}
for i = 1, #ARGV, 2 do
  unsubscribeOne(out, ARGV[i], ARGV[i + 1])
end
return out
`;

// KEYS: as UNSUBSCRIBE. ARGV: the subs member's prefix (s\0app\0topic\0),
// then the names (each name's member is the prefix and the name, made here).
// Returns three values per name (UNSUBSCRIBE_ONE).
export const UNSUBSCRIBE_MANY = `${UNSUBSCRIBE_ONE}
local out = {}
local subsPrefix = ARGV[1]
for i = 2, #ARGV do
  unsubscribeOne(out, ARGV[i], subsPrefix .. ARGV[i])
end
return out
`;

// KEYS: subs, providers, offers, node index. ARGV: name, token, offer member.
export const START_OFFER = `
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 or redis.call('HEXISTS', KEYS[2], ARGV[1]) == 1
  or redis.call('HEXISTS', KEYS[3], ARGV[1]) == 1 then
  return 0
end
redis.call('HSET', KEYS[3], ARGV[1], ARGV[2])
redis.call('SADD', KEYS[4], ARGV[3])
return 1
`;

// KEYS: hash (offers or providers), node index. ARGV: name, token, member.
export const DROP_HELD = `
redis.call('SREM', KEYS[2], ARGV[3])
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then
  redis.call('HDEL', KEYS[1], ARGV[1])
  return 1
end
return 0
`;

// KEYS: subs, providers, offers, node index.
// ARGV: name, token, offer token, provider member.
export const CLAIM = `
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 or redis.call('HEXISTS', KEYS[2], ARGV[1]) == 1 then
  return 0
end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
redis.call('SADD', KEYS[4], ARGV[4])
if redis.call('HGET', KEYS[3], ARGV[1]) == ARGV[3] then redis.call('HDEL', KEYS[3], ARGV[1]) end
return 1
`;

// KEYS: providers, subs, listeners, offers, node index.
// ARGV: name, token, provider member, offer token ('' none), offer member.
export const RELEASE = `
redis.call('SREM', KEYS[5], ARGV[3])
if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then return {0, 0} end
redis.call('HDEL', KEYS[1], ARGV[1])
if ARGV[4] == '' or redis.call('HEXISTS', KEYS[2], ARGV[1]) == 0
  or redis.call('SCARD', KEYS[3]) == 0 or redis.call('HEXISTS', KEYS[4], ARGV[1]) == 1 then
  return {1, 0}
end
redis.call('HSET', KEYS[4], ARGV[1], ARGV[4])
redis.call('SADD', KEYS[5], ARGV[5])
return {1, 1}
`;

// KEYS: providers, node index. ARGV: name, token, member. Written back after a
// Redis restart: the provider keeps its name unless another one took it.
export const RESTORE_PROVIDER = `
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 1 then
  redis.call('SADD', KEYS[2], ARGV[3])
  return 1
end
return 0
`;

// KEYS: listeners, node index, order, seq. ARGV: listener member, index member.
// A listener keeps the number it first registered with: providers can be
// offered in the order they registered (LISTEN_SHUFFLE_PROVIDERS=false).
export const ADD_LISTENER = `
redis.call('SADD', KEYS[1], ARGV[1])
redis.call('SADD', KEYS[2], ARGV[2])
if redis.call('HEXISTS', KEYS[3], ARGV[1]) == 0 then
  redis.call('HSET', KEYS[3], ARGV[1], redis.call('INCR', KEYS[4]))
end
`;
