-- Shared by every frontier script. ARGV[1] is sluice's key prefix; all keys derive from it.
-- items: hash item -> payload; meta: hash item -> "host\nscore"; q:<host>: zset of the
-- host's waiting items by score; due: zset of idle hosts with waiting items by due time (ms);
-- sizes: zset host -> waiting items; arrive: zset item -> first arrival (ms); delayed: zset
-- item -> ready time; leases: zset item -> deadline; lease: hash item -> token; busy: hash
-- host -> leased item (or 'hold:<token>' for a producer's hold); holds: zset
-- 'host\n<hold token>' -> deadline; wants: hash host -> until when a producer waits for its
-- turn; wake: list the pumps block on.
local P = ARGV[1]
local ITEMS, META, DUE, SIZES = P .. 'fr:items', P .. 'fr:meta', P .. 'fr:due', P .. 'fr:sizes'
local ARRIVE, DELAYED, LEASES = P .. 'fr:arrive', P .. 'fr:delayed', P .. 'fr:leases'
local LEASE, BUSY, WAKE, SEQ = P .. 'fr:lease', P .. 'fr:busy', P .. 'fr:wake', P .. 'fr:seq'
local HOLDS, WANTS = P .. 'fr:holds', P .. 'fr:wants'

local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- The host budget's gate (workers.fetching.politeness): its next request's earliest start.
local function gate(host)
  return tonumber(redis.call('HGET', P .. 'polite:' .. host, 'next')) or 0
end

local function split_meta(item)
  local meta = redis.call('HGET', META, item)
  if not meta then return nil, nil end
  local cut = string.find(meta, '\n', 1, true)
  return string.sub(meta, 1, cut - 1), tonumber(string.sub(meta, cut + 1))
end

local function wake()
  redis.call('LPUSH', WAKE, '1')
  redis.call('LTRIM', WAKE, 0, 0)
end

-- An idle host with waiting items is due at its gate (never in the past).
local function schedule(host, now)
  if redis.call('HEXISTS', BUSY, host) == 0
      and redis.call('ZCARD', P .. 'fr:q:' .. host) > 0 then
    local due = math.max(gate(host), now)
    if redis.call('ZADD', DUE, 'NX', due, host) == 1 then wake() end
  end
end

-- Put an item (its payload already in ITEMS) into its host's queue at ``score``.
local function enqueue(item, host, score, now)
  redis.call('HSET', META, item, host .. '\n' .. string.format('%.0f', score))
  if redis.call('ZADD', P .. 'fr:q:' .. host, score, item) == 1 then
    redis.call('ZINCRBY', SIZES, 1, host)
  end
  schedule(host, now)
end
