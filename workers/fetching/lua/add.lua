-- Add items: ARGV[2..] in groups of (item, host, priority 0-9, payload). An item already in
-- the frontier is left as it is (at-least-once senders may add it twice). Returns the
-- number added.
local now = now_ms()
local added = 0
for i = 2, #ARGV, 4 do
  local item, host, priority, payload = ARGV[i], ARGV[i + 1], tonumber(ARGV[i + 2]), ARGV[i + 3]
  if redis.call('HSETNX', ITEMS, item, payload) == 1 then
    added = added + 1
    redis.call('ZADD', ARRIVE, now, item)
    -- Higher priority first, then first in, first out (by arrival number, not by clock:
    -- a batch arrives within one millisecond).
    local seq = redis.call('INCR', P .. 'fr:arrivals')
    enqueue(item, host, (9 - priority) * 1e14 + seq, now)
  end
end
return added
