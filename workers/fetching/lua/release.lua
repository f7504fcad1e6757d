-- Reclaim expired leases and producers' holds, move delayed items that are ready into their hosts' queues, then
-- lease the head item of up to ARGV[4] hosts due by now + ARGV[2] ms, earliest due first.
-- ARGV[3]: lease length (ms). Returns {reclaimed, ms until the next due host (-1: none),
-- item, token, payload, ms until its host's gate, host, ...}.
local now = now_ms()
local reclaimed = 0
for _, item in ipairs(redis.call('ZRANGEBYSCORE', LEASES, '-inf', now, 'LIMIT', 0, 500)) do
  local host, score = split_meta(item)
  redis.call('ZREM', LEASES, item)
  redis.call('HDEL', LEASE, item)
  reclaimed = reclaimed + 1
  if host then
    if redis.call('HGET', BUSY, host) == item then redis.call('HDEL', BUSY, host) end
    if redis.call('HEXISTS', ITEMS, item) == 1 then enqueue(item, host, score, now) end
    schedule(host, now)
  end
end
-- A producer's hold not let go by its deadline (the producer died): the host is free again.
for _, held in ipairs(redis.call('ZRANGEBYSCORE', HOLDS, '-inf', now, 'LIMIT', 0, 500)) do
  redis.call('ZREM', HOLDS, held)
  local cut = string.find(held, '\n', 1, true)
  local host = string.sub(held, 1, cut - 1)
  if redis.call('HGET', BUSY, host) == string.sub(held, cut + 1) then
    redis.call('HDEL', BUSY, host)
    schedule(host, now)
  end
end
for _, item in ipairs(redis.call('ZRANGEBYSCORE', DELAYED, '-inf', now, 'LIMIT', 0, 1000)) do
  redis.call('ZREM', DELAYED, item)
  local host, score = split_meta(item)
  if host then enqueue(item, host, score, now) end
end
local out = {reclaimed, -1}
local hosts = redis.call('ZRANGEBYSCORE', DUE, '-inf', now + tonumber(ARGV[2]), 'WITHSCORES',
                         'LIMIT', 0, tonumber(ARGV[4]))
for i = 1, #hosts, 2 do
  local host, due = hosts[i], tonumber(hosts[i + 1])
  redis.call('ZREM', DUE, host)
  local queue = P .. 'fr:q:' .. host
  local head = redis.call('ZRANGE', queue, 0, 0)[1]
  local wanted = tonumber(redis.call('HGET', WANTS, host))
  if wanted and wanted > now then
    -- A producer waits for this host's turn (hold.lua): it goes first; the host is due
    -- again when the want lapses, should the producer be gone.
    redis.call('ZADD', DUE, wanted, host)
    head = nil
  elseif wanted then
    redis.call('HDEL', WANTS, host)
  end
  if head then
    redis.call('ZREM', queue, head)
    if tonumber(redis.call('ZINCRBY', SIZES, -1, host)) <= 0 then
      redis.call('ZREM', SIZES, host)
    end
    local token = tostring(redis.call('INCR', SEQ))
    redis.call('HSET', LEASE, head, token)
    redis.call('ZADD', LEASES, now + tonumber(ARGV[3]), head)
    redis.call('HSET', BUSY, host, head)
    table.insert(out, head)
    table.insert(out, token)
    table.insert(out, redis.call('HGET', ITEMS, head) or '{}')
    table.insert(out, math.max(0, due - now))
    table.insert(out, host)
  end
end
local first = redis.call('ZRANGE', DUE, 0, 0, 'WITHSCORES')
local nxt = -1
if first[2] then nxt = math.max(0, tonumber(first[2]) - now) end
for _, key in ipairs({DELAYED, LEASES, HOLDS}) do
  local earliest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
  if earliest[2] then
    local at = math.max(0, tonumber(earliest[2]) - now)
    if nxt < 0 or at < nxt then nxt = at end
  end
end
out[2] = nxt
return out
