-- A producer's hold of ARGV[2]'s (host) turn, by token ARGV[3], ends: the host is free
-- again (unless its request already freed it, and someone else took it) and due at its gate.
local host, token = ARGV[2], 'hold:' .. ARGV[3]
redis.call('ZREM', HOLDS, host .. '\n' .. token)
if redis.call('HGET', BUSY, host) == token then
  redis.call('HDEL', BUSY, host)
  schedule(host, now_ms())
end
return 1
