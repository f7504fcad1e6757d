-- Drops a claim if this item holds it.
-- KEYS[1] claim bucket; ARGV[1] claim field, ARGV[2] item key.
local owner = redis.call('HGET', KEYS[1], ARGV[1])
if owner and string.sub(owner, 1, #ARGV[2] + 1) == ARGV[2] .. ' ' then
  return redis.call('HDEL', KEYS[1], ARGV[1])
end
return 0
