-- A fetch task ends its turn: ARGV[2] item, ARGV[3] token, ARGV[4] 'free', 'done' or
-- 'again'; for 'again': ARGV[5] host, ARGV[6] payload, ARGV[7] delay (ms). Every mode frees
-- the host and reschedules it at its gate (set by the host budget when the request ended).
-- 'free' keeps the lease (the item's later stages are being handed on: a crash now sends
-- it round again); 'done' forgets the item; 'again' puts it back at its place in line, in
-- the queue of ARGV[5] (a redirect may change host), after the delay.
-- Returns 1, or 0 for a stale token.
local item, token = ARGV[2], ARGV[3]
if redis.call('HGET', LEASE, item) ~= token then return 0 end
local now = now_ms()
local host, score = split_meta(item)
if ARGV[4] == 'free' then
  if host and redis.call('HGET', BUSY, host) == item then
    redis.call('HDEL', BUSY, host)
    schedule(host, now)
  end
  return 1
end
redis.call('ZREM', LEASES, item)
redis.call('HDEL', LEASE, item)
if host and redis.call('HGET', BUSY, host) == item then redis.call('HDEL', BUSY, host) end
if ARGV[4] == 'done' then
  redis.call('HDEL', ITEMS, item)
  redis.call('HDEL', META, item)
  redis.call('ZREM', ARRIVE, item)
else
  local target, delay = ARGV[5], tonumber(ARGV[7])
  redis.call('HSET', ITEMS, item, ARGV[6])
  if delay > 0 then
    redis.call('HSET', META, item, target .. '\n' .. string.format('%.0f', score))
    redis.call('ZADD', DELAYED, now + delay, item)
    wake()
  else
    enqueue(item, target, score, now)
  end
end
if host then schedule(host, now) end
return 1
