-- A producer takes ARGV[2]'s (host) turn for ARGV[3] (its token) for ARGV[4] ms, as a
-- released item would hold it: only when no item or other holder is in flight there. The
-- host leaves the due set, so no pump releases its next item until the hold ends. Taken
-- again by the same token, the hold is renewed. Returns 1 when held, 0 when the host is busy:
-- the host is then wanted for ARGV[5] ms, and no pump releases its next item meanwhile
-- (release.lua), so a producer asking again soon gets the turn when the request in flight ends.
local host, token = ARGV[2], 'hold:' .. ARGV[3]
local holder = redis.call('HGET', BUSY, host)
if holder and holder ~= token then
  redis.call('HSET', WANTS, host, now_ms() + tonumber(ARGV[5]))
  return 0
end
redis.call('HDEL', WANTS, host)
redis.call('HSET', BUSY, host, token)
redis.call('ZREM', DUE, host)
redis.call('ZADD', HOLDS, now_ms() + tonumber(ARGV[4]), host .. '\n' .. token)
return 1
